package store

// SetEntriesQuery is setEntriesQuery, for the query plan test.
const SetEntriesQuery = setEntriesQuery
