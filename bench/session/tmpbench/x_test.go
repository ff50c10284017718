package tmpbench

import (
	"testing"

	"gocourier/internal/pwhash"
)

func BenchmarkSHA512Crypt(b *testing.B) {
	h := "$6$5lvuBzcNu2z2JLoq$Do7vE1bESoBbLqXbSf8oTlhQyk40F5rafBj0RvmhDpwNWGEP.8RrNl8TMdJAivN.6A4HWVnF1Y7uyZfJlToSU."
	for i := 0; i < b.N; i++ {
		ok, err := pwhash.Verify("Sessi0n-bench", h)
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
