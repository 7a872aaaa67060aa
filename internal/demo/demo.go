// Package demo generates the fictional registry that `epermit demo` serves:
// Hong Kong, Macau and Taiwan residents with plausible names, permits and
// drawn portraits. Everything is made up and the same on every run, so the
// demo, the tests and the benchmarks see one population.
package demo

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/epermit/epermit/permit"
)

// name parts: the character, its Cantonese and its Taiwanese (Wade-Giles)
// romanization.
type part struct{ han, yue, tw string }

var surnames = []part{
	{"陳", "CHAN", "CHEN"}, {"李", "LEE", "LI"}, {"張", "CHEUNG", "CHANG"}, {"黃", "WONG", "HUANG"},
	{"王", "WONG", "WANG"}, {"林", "LAM", "LIN"}, {"劉", "LAU", "LIU"}, {"吳", "NG", "WU"},
	{"何", "HO", "HO"}, {"梁", "LEUNG", "LIANG"}, {"鄭", "CHENG", "CHENG"}, {"蔡", "CHOI", "TSAI"},
	{"許", "HUI", "HSU"}, {"郭", "KWOK", "KUO"}, {"楊", "YEUNG", "YANG"}, {"周", "CHOW", "CHOU"},
}

var given = []part{
	{"大", "TAI", "TA"}, {"文", "MAN", "WEN"}, {"明", "MING", "MING"}, {"志", "CHI", "CHIH"},
	{"偉", "WAI", "WEI"}, {"嘉", "KA", "CHIA"}, {"欣", "YAN", "HSIN"}, {"美", "MEI", "MEI"},
	{"玲", "LING", "LING"}, {"俊", "CHUN", "CHUN"}, {"詠", "WING", "YUNG"}, {"思", "SZE", "SSU"},
	{"雅", "NGA", "YA"}, {"健", "KIN", "CHIEN"}, {"華", "WAH", "HUA"}, {"婷", "TING", "TING"},
	{"豪", "HO", "HAO"}, {"芷", "TSZ", "CHIH"}, {"穎", "WING", "YING"}, {"霖", "LAM", "LIN"},
}

// Holders of a Home Return Permit without Chinese nationality have no
// Chinese name and an HA/MA number.
var foreignNames = []string{"SMITH, JOHN", "SILVA, ANA MARIA", "KHAN, AISHA", "BROWN, EMILY", "GOMES, PAULO"}

// Registry returns n fictional records, identical on every call. Record 0 is
// always 陳大文 (CHAN, TAI MAN), Hong Kong, permit H12345678, so documents
// and tests can name one person. Issue and expiry dates spread over
// 2016–2036: about one in ten permits expires during 2026–2027, and some are
// reported lost (4%) or cancelled (1%).
func Registry(n int) []permit.Record {
	rng := rand.New(rand.NewPCG(20261125, 1))
	out := make([]permit.Record, 0, n)
	usedResidence := map[string]bool{}
	for i := range n {
		var rec permit.Record
		if i == 0 {
			rec = chanTaiMan()
		} else {
			rec = person(rng, i, usedResidence)
		}
		usedResidence[residenceNumber(rec)] = true
		out = append(out, rec)
	}
	return out
}

func residenceNumber(r permit.Record) string {
	if r.ResidencePermit == nil {
		return ""
	}
	return r.ResidencePermit.Number
}

func chanTaiMan() permit.Record {
	birth := permit.Date{Year: 1990, Month: 1, Day: 1}
	return permit.Record{
		Person: permit.Person{Name: "陳大文", LatinName: "CHAN, TAI MAN", Sex: permit.Male, BirthDate: birth,
			Region: permit.RegionHK, Phone: "+85291234567", Portrait: portrait(0)},
		TravelPermits: []permit.TravelPermit{{Type: permit.HKHomeReturnPermit, Number: "H12345678", Renewal: 2,
			IssuedOn: permit.Date{Year: 2021, Month: 7, Day: 1}, ExpiresOn: permit.Date{Year: 2031, Month: 6, Day: 30},
			Status: permit.StatusValid}},
		ResidencePermit: &permit.ResidencePermit{Number: residence(permit.RegionHK, birth, 1, nil),
			IssuedOn: permit.Date{Year: 2022, Month: 3, Day: 1}, ExpiresOn: permit.Date{Year: 2027, Month: 2, Day: 28},
			Status: permit.StatusValid},
	}
}

func person(rng *rand.Rand, i int, used map[string]bool) permit.Record {
	var region permit.Region
	switch r := rng.IntN(100); {
	case r < 55:
		region = permit.RegionHK
	case r < 70:
		region = permit.RegionMO
	default:
		region = permit.RegionTW
	}
	sex := permit.Sex(1 + rng.IntN(2))
	birth := permit.Date{Year: 1940 + rng.IntN(68), Month: time.Month(1 + rng.IntN(12)), Day: 1 + rng.IntN(28)}
	sur := surnames[rng.IntN(len(surnames))]
	g1, g2 := given[rng.IntN(len(given))], given[rng.IntN(len(given))]
	p := permit.Person{Sex: sex, BirthDate: birth, Region: region, Portrait: portrait(rng.IntN(portraitVariants))}
	if region == permit.RegionTW {
		p.Name, p.LatinName = sur.han+g1.han+g2.han, sur.tw+", "+g1.tw+"-"+g2.tw
	} else {
		p.Name, p.LatinName = sur.han+g1.han+g2.han, sur.yue+", "+g1.yue+" "+g2.yue
	}
	foreign := region != permit.RegionTW && rng.IntN(100) < 2

	tp := permit.TravelPermit{Renewal: rng.IntN(6), Status: permit.StatusValid}
	switch region {
	case permit.RegionHK:
		tp.Type, tp.Number = permit.HKHomeReturnPermit, fmt.Sprintf("H%08d", 20000000+i*37)
		p.Phone = fmt.Sprintf("+852%d%07d", []int{5, 6, 9}[rng.IntN(3)], rng.IntN(10_000_000))
		if foreign {
			tp.Number = fmt.Sprintf("HA%07d", 1000000+i)
		}
	case permit.RegionMO:
		tp.Type, tp.Number = permit.MOHomeReturnPermit, fmt.Sprintf("M%08d", 20000000+i*37)
		p.Phone = fmt.Sprintf("+8536%07d", rng.IntN(10_000_000))
		if foreign {
			tp.Number = fmt.Sprintf("MA%07d", 1000000+i)
		}
	default:
		tp.Type, tp.Number = permit.TWTravelPermit, fmt.Sprintf("%08d", 10000000+i*31)
		p.Phone = fmt.Sprintf("+8869%08d", rng.IntN(100_000_000))
	}
	if foreign {
		p.Name, p.LatinName = "", foreignNames[rng.IntN(len(foreignNames))]
	}
	// Adults' permits run 10 years, children's 5.
	tp.IssuedOn = permit.Date{Year: 2016 + rng.IntN(11), Month: time.Month(1 + rng.IntN(12)), Day: 1 + rng.IntN(28)}
	if tp.IssuedOn.Before(birth) || tp.IssuedOn.Year-birth.Year < 1 {
		tp.IssuedOn = birth.AddDays(400)
	}
	years := 10
	if tp.IssuedOn.Year-birth.Year < 18 {
		years = 5
	}
	tp.ExpiresOn = permit.DateOf(tp.IssuedOn.Start().AddDate(years, 0, -1))
	switch r := rng.IntN(100); {
	case r < 4:
		tp.Status = permit.StatusReportedLost
	case r < 5:
		tp.Status = permit.StatusCancelled
	}
	rec := permit.Record{Person: p, TravelPermits: []permit.TravelPermit{tp}}

	if rng.IntN(100) < 80 {
		issued := permit.Date{Year: 2019 + rng.IntN(7), Month: time.Month(1 + rng.IntN(12)), Day: 1 + rng.IntN(28)}
		if issued.Before(birth) {
			issued = birth.AddDays(30)
		}
		seq := 1 + 2*rng.IntN(450) // odd
		if sex == permit.Female {
			seq++
		}
		rec.ResidencePermit = &permit.ResidencePermit{Number: residence(region, birth, seq, used), IssuedOn: issued,
			ExpiresOn: permit.DateOf(issued.Start().AddDate(5, 0, -1)), Status: permit.StatusValid}
	}
	return rec
}

// residence builds a valid residence permit number, stepping the sequence by
// 2 (keeping its parity, hence the sex) past numbers already used.
func residence(region permit.Region, birth permit.Date, seq int, used map[string]bool) string {
	prefix := map[permit.Region]string{permit.RegionHK: "810000", permit.RegionMO: "820000", permit.RegionTW: "830000"}[region]
	for {
		first := fmt.Sprintf("%s%04d%02d%02d%03d", prefix, birth.Year, birth.Month, birth.Day, seq%1000)
		c, _ := permit.CheckCharacter(first)
		if n := first + string(c); !used[n] {
			return n
		}
		seq += 2
	}
}

// Samples picks identities worth trying in the demo, relative to today (a
// China calendar date): the first valid Hong Kong, Macau and Taiwan permits,
// a permit reported lost, a cancelled one and an expired one.
func Samples(recs []permit.Record, today permit.Date) []permit.Record {
	var out []permit.Record
	want := []func(permit.Record) bool{
		func(r permit.Record) bool { return ok(r, today) && r.Person.Region == permit.RegionHK },
		func(r permit.Record) bool { return ok(r, today) && r.Person.Region == permit.RegionMO },
		func(r permit.Record) bool { return ok(r, today) && r.Person.Region == permit.RegionTW },
		func(r permit.Record) bool {
			return r.TravelPermits[0].Status == permit.StatusReportedLost && !r.TravelPermits[0].ExpiresOn.Before(today)
		},
		func(r permit.Record) bool { return r.TravelPermits[0].Status == permit.StatusCancelled },
		func(r permit.Record) bool { return r.TravelPermits[0].ExpiresOn.Before(today) },
	}
	for _, w := range want {
		for _, r := range recs {
			if w(r) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func ok(r permit.Record, today permit.Date) bool {
	tp := r.TravelPermits[0]
	return tp.Status == permit.StatusValid && !tp.ExpiresOn.Before(today) && r.Person.Name != ""
}

// portraitVariants is how many different portraits are drawn; records share
// them, which keeps a 100,000-person registry quick to generate.
const portraitVariants = 48

var (
	portraitOnce  sync.Once
	portraitCache [portraitVariants][]byte
)

func portrait(v int) []byte {
	portraitOnce.Do(func() {
		for i := range portraitCache {
			portraitCache[i] = drawPortrait(i)
		}
	})
	return portraitCache[v]
}

// drawPortrait draws a 96×128 head-and-shoulders silhouette: a passport
// photo's shape with no one's face.
func drawPortrait(v int) []byte {
	backgrounds := []color.RGBA{{232, 238, 245, 255}, {245, 240, 230, 255}, {230, 242, 236, 255}, {240, 232, 240, 255}}
	skins := []color.RGBA{{241, 204, 172, 255}, {224, 178, 140, 255}, {198, 150, 110, 255}}
	clothes := []color.RGBA{{40, 60, 110, 255}, {70, 70, 70, 255}, {120, 40, 50, 255}, {30, 90, 80, 255}}
	bg, skin := backgrounds[v%4], skins[(v/4)%3]
	cloth, hair := clothes[(v/12)%4], color.RGBA{uint8(30 + 10*(v%5)), 25, 20, 255}
	img := image.NewRGBA(image.Rect(0, 0, 96, 128))
	for y := range 128 {
		for x := range 96 {
			c := bg
			dx, dy := float64(x-48), float64(y-52)
			switch {
			case dx*dx/(22*22)+dy*dy/(28*28) <= 1: // face
				c = skin
				if dy < -12 || (dx*dx/(24*24)+(dy+4)*(dy+4)/(32*32) <= 1 && dy < -8) {
					c = hair
				}
			case dx*dx/(25*25)+(dy+6)*(dy+6)/(31*31) <= 1 && dy < 0: // hair around the head
				c = hair
			case y > 92 && dx*dx/(46*46)+float64(y-128)*float64(y-128)/(40*40) <= 1: // shoulders
				c = cloth
			case y > 76 && y <= 96 && dx > -9 && dx < 9: // neck
				c = skin
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
