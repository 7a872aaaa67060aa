package qrcode

import "testing"

func TestRenderTextRoundTrip(t *testing.T) {
	for _, text := range []string{"https://epermit.example/linkage/5e9c410b2d774a138f60a23cd10e9427", "a", "關聯 linkage"} {
		png, err := RenderText(text)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodePNG(png)
		if err != nil || got != text {
			t.Errorf("%q: decoded %q, %v", text, got, err)
		}
	}
	if _, err := RenderText(""); err == nil {
		t.Error("empty text encoded")
	}
}
