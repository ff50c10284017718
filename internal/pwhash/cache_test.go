package pwhash

import (
	"fmt"
	"testing"
)

// countingCache returns a cache whose slow path is the real Verify, with
// a counter of how often it ran.
func countingCache(t *testing.T, size int) (*Cache, *int) {
	t.Helper()
	c, err := NewCache(size)
	if err != nil {
		t.Fatal(err)
	}
	n := new(int)
	c.verify = func(pw, stored string) (bool, error) {
		*n++
		return Verify(pw, stored)
	}
	return c, n
}

const (
	sha512Secret = "$6$rounds=10000$saltsaltsalt$mxZLFC.27fmAOmrI3MHCgrNvevu4IGEUC1gDEROE3aOW7NYpdeD3Aqx8vf/dRCUEMDtPgGPhepq3R/j4C3Yvq/"
	md5Secret    = "$1$XgaGkadw$s0xIjmzr8C8KT9mqDILqj0"
	desSecret    = "pKnsTCF2crZFE"
)

func TestCacheVerify(t *testing.T) {
	// Each case runs its calls in order on a fresh cache and checks each
	// answer and how many times the slow hash ran in total.
	type call struct {
		pw, stored string
		want       bool
	}
	tests := []struct {
		name   string
		calls  []call
		hashes int // slow verifications expected over all calls
		len    int // entries at the end
	}{
		{"hit skips the hash", []call{{"secret", sha512Secret, true}, {"secret", sha512Secret, true}, {"secret", sha512Secret, true}}, 1, 1},
		{"miss hashes", []call{{"secret", md5Secret, true}, {"secret", sha512Secret, true}}, 2, 2},
		{"failure not cached", []call{{"wrong", md5Secret, false}, {"wrong", md5Secret, false}, {"wrong", md5Secret, false}}, 3, 0},
		{"wrong password after a hit pays the hash", []call{{"secret", md5Secret, true}, {"secreT", md5Secret, false}, {"secret", md5Secret, true}}, 2, 1},
		{"changed hash is a miss", []call{{"secret", md5Secret, true}, {"secret", "$1$XgaGkadw$s0xIjmzr8C8KT9mqDILqj1", false}}, 2, 1},
		{"crypt prefix cached", []call{{"secret", "{CRYPT}" + md5Secret, true}, {"secret", "{CRYPT}" + md5Secret, true}, {"secret", "{crypt}" + md5Secret, true}}, 2, 2},
		{"des cached", []call{{"secret", desSecret, true}, {"secret", desSecret, true}}, 1, 1},
		{"des second password replaces", []call{{"longpass", "zZq3RWy/G71sk", true}, {"longpassword", "zZq3RWy/G71sk", true}, {"longpassword", "zZq3RWy/G71sk", true}, {"longpass", "zZq3RWy/G71sk", true}}, 3, 1},
		{"cheap forms bypass", []call{{"secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", true}, {"secret", "{PLAIN}secret", true}}, 0, 0},
		{"unknown format not cached", []call{{"secret", "$9$abc$def", false}, {"secret", "$9$abc$def", false}}, 2, 0},
		{"over-long password bypasses", []call{{string(make([]byte, MaxPassword+1)), md5Secret, false}}, 0, 0},
		{"empty password", []call{{"", "$1$mloYzOKm$IwhrFKIr7LxZz.qK/8Faf1", true}, {"", "$1$mloYzOKm$IwhrFKIr7LxZz.qK/8Faf1", true}, {"x", "$1$mloYzOKm$IwhrFKIr7LxZz.qK/8Faf1", false}}, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, n := countingCache(t, 16)
			for i, cl := range tc.calls {
				got, _ := c.Verify(cl.pw, cl.stored)
				if got != cl.want {
					t.Errorf("call %d: Verify(%q, %q) = %v, want %v", i, cl.pw, cl.stored, got, cl.want)
				}
			}
			if *n != tc.hashes {
				t.Errorf("slow hash ran %d times, want %d", *n, tc.hashes)
			}
			if c.Len() != tc.len {
				t.Errorf("Len = %d, want %d", c.Len(), tc.len)
			}
		})
	}
}

func TestCacheSizeBound(t *testing.T) {
	c, n := countingCache(t, 3)
	c.verify = func(pw, stored string) (bool, error) {
		*n++
		return pw == "pw-"+stored, nil // stand-in slow hash: any "$..." hash matches "pw-<hash>"
	}
	hash := func(i int) string { return fmt.Sprintf("$6$salt%d$x", i) }
	for i := range 5 {
		if ok, _ := c.Verify("pw-"+hash(i), hash(i)); !ok {
			t.Fatalf("verify %d failed", i)
		}
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	*n = 0
	// 2, 3, 4 are cached (0 and 1 were dropped, least recently used).
	for _, i := range []int{2, 3, 4} {
		c.Verify("pw-"+hash(i), hash(i))
	}
	if *n != 0 {
		t.Errorf("recent entries hashed %d times, want 0", *n)
	}
	// Using 2 makes 3 the oldest; adding 0 then drops 3, not 2.
	c.Verify("pw-"+hash(2), hash(2))
	c.Verify("pw-"+hash(0), hash(0))
	*n = 0
	c.Verify("pw-"+hash(2), hash(2))
	if *n != 0 {
		t.Errorf("recently used entry was evicted")
	}
	c.Verify("pw-"+hash(3), hash(3))
	if *n != 1 {
		t.Errorf("least recently used entry was kept")
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d after churn, want 3", c.Len())
	}
}

func TestCacheDisabled(t *testing.T) {
	for _, size := range []int{0, -1} {
		c, err := NewCache(size)
		if err != nil || c != nil {
			t.Fatalf("NewCache(%d) = %v, %v; want nil, nil", size, c, err)
		}
		// A nil cache verifies exactly as Verify.
		for _, tc := range []struct {
			pw, stored string
			want       bool
		}{{"secret", md5Secret, true}, {"wrong", md5Secret, false}, {"secret", "{PLAIN}secret", true}} {
			if got, _ := c.Verify(tc.pw, tc.stored); got != tc.want {
				t.Errorf("nil cache Verify(%q, %q) = %v", tc.pw, tc.stored, got)
			}
		}
		if c.Len() != 0 {
			t.Errorf("nil cache Len = %d", c.Len())
		}
	}
}

// Two caches have different keys, so an entry is useless outside its
// process.
func TestCacheKeysDiffer(t *testing.T) {
	a, _ := NewCache(1)
	b, _ := NewCache(1)
	ia, ta := a.tags("secret", md5Secret)
	ib, tb := b.tags("secret", md5Secret)
	if ia == ib || ta == tb {
		t.Fatal("two caches derived the same tags")
	}
	if ia2, ta2 := a.tags("secret", md5Secret); ia2 != ia || ta2 != ta {
		t.Fatal("tags not deterministic within a cache")
	}
}

func TestCacheConcurrent(t *testing.T) {
	c, _ := NewCache(8)
	done := make(chan bool)
	for g := range 4 {
		go func() {
			ok := true
			for i := range 50 {
				pw, want := "secret", true
				if (g+i)%3 == 0 {
					pw, want = "wrong", false
				}
				if got, _ := c.Verify(pw, md5Secret); got != want {
					ok = false
				}
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("wrong answer under concurrency")
		}
	}
}

func BenchmarkCacheHit(b *testing.B) {
	c, _ := NewCache(DefaultCacheSize)
	stored := sha512Secret
	c.Verify("secret", stored)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := c.Verify("secret", stored); !ok {
			b.Fatal("miss")
		}
	}
}

// Whatever the stored string and password, the cache answers as Verify
// does, on the first call and on a repeated one (which may be a hit).
func FuzzCacheVerify(f *testing.F) {
	f.Add("secret", md5Secret)
	f.Add("secret", desSecret)
	f.Add("secret", "{CRYPT}"+md5Secret)
	f.Add("wrong", md5Secret)
	f.Add("secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=")
	f.Add("x", "$1$$")
	c, _ := NewCache(4)
	f.Fuzz(func(t *testing.T, pw, stored string) {
		want, wantErr := Verify(pw, stored)
		for i := range 2 {
			got, err := c.Verify(pw, stored)
			if got != want || (err == nil) != (wantErr == nil) {
				t.Fatalf("call %d: Cache.Verify(%q, %q) = %v, %v; Verify = %v, %v", i, pw, stored, got, err, want, wantErr)
			}
		}
	})
}
