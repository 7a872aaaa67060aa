// Package permit holds epermit's domain: the people in the registry, their
// physical travel and residence permits, and the rules that decide who may
// hold which electronic credential and for how long.
//
// The package does no I/O. Storage, keys and transport are adapters around
// it, so every rule here can be read, and tested, as the policy it implements.
//
// Civil dates (birth, issue, expiry) are calendar dates in China Standard Time
// (UTC+08:00, no daylight saving since 1991); a permit whose expiry date is
// 2030-05-31 is good until 2030-06-01T00:00:00+08:00.
package permit
