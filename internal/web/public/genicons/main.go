// Command genicons draws the wallet's app icons: PNGs in the sizes phones
// ask for and a favicon.ico, written into the directory given. The drawing
// (the banner's red, its gold ring, a white permit card) keeps everything
// inside the middle 80%, the safe zone of a maskable icon, so one picture
// serves both purposes. Run by go generate in internal/web/public.
package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
)

var (
	red   = color.RGBA{0x8c, 0x1c, 0x13, 0xff}
	gold  = color.RGBA{0xd4, 0xa0, 0x17, 0xff}
	white = color.RGBA{0xff, 0xff, 0xff, 0xff}
	dark  = color.RGBA{0x5e, 0x12, 0x0c, 0xff}
)

// draw returns the icon at n×n pixels, with 4×4 supersampling for smooth
// edges.
func draw(n int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	const ss = 4
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			var r, g, b int
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					// u, v in [-1, 1], the centre at 0.
					u := (float64(x)+(float64(sx)+.5)/ss)/float64(n)*2 - 1
					v := (float64(y)+(float64(sy)+.5)/ss)/float64(n)*2 - 1
					c := at(u, v)
					r, g, b = r+int(c.R), g+int(c.G), b+int(c.B)
				}
			}
			img.SetRGBA(x, y, color.RGBA{uint8(r / ss / ss), uint8(g / ss / ss), uint8(b / ss / ss), 0xff})
		}
	}
	return img
}

// at is the colour at (u, v): a gold ring of radius .62 to .72 around a
// white card with a dark red stripe, on red.
func at(u, v float64) color.RGBA {
	d := math.Hypot(u, v)
	switch {
	case d >= .62 && d <= .72:
		return gold
	case math.Abs(u) <= .36 && math.Abs(v) <= .24:
		if v <= -.14 {
			return dark
		}
		if u >= .08 && u <= .28 && v >= -.02 && v <= .16 {
			return gold // the portrait's place
		}
		return white
	}
	return red
}

func encode(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// ico wraps PNG images in an ICO container, which every browser reads.
func ico(pngs map[int][]byte, sizes []int) []byte {
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, [3]uint16{0, 1, uint16(len(sizes))})
	off := 6 + 16*len(sizes)
	for _, s := range sizes {
		dim := uint8(s)
		if s >= 256 {
			dim = 0
		}
		binary.Write(&buf, binary.LittleEndian, struct {
			W, H, Colours, Reserved uint8
			Planes, Bits            uint16
			Size, Offset            uint32
		}{dim, dim, 0, 0, 1, 32, uint32(len(pngs[s])), uint32(off)})
		off += len(pngs[s])
	}
	for _, s := range sizes {
		buf.Write(pngs[s])
	}
	return buf.Bytes()
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: genicons DIR")
	}
	dir := os.Args[1]
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	pngs := map[int][]byte{}
	for _, n := range []int{16, 32, 48, 180, 192, 512} {
		pngs[n] = encode(draw(n))
	}
	write("icon-192.png", pngs[192])
	write("icon-512.png", pngs[512])
	write("apple-touch-icon.png", pngs[180])
	write("favicon.ico", ico(pngs, []int{16, 32, 48}))
}
