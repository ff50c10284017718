package stdioconn

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The test re-runs its own binary as a worker whose fd 0 is a pipe that has
// no data yet: the first read must block until data arrives, not fail.
func TestMain(m *testing.M) {
	if os.Getenv("STDIOCONN_CHILD") == "1" {
		if Socket() != nil {
			os.Stdout.WriteString("socket?\n")
			os.Exit(1)
		}
		b := make([]byte, 64)
		n, err := os.Stdin.Read(b)
		if err != nil {
			os.Stdout.WriteString("read error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("got " + string(b[:n]))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestPipeStaysBlocking(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "STDIOCONN_CHILD=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the child is reading an empty pipe now
	in.Write([]byte("hello\n"))
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v (%s)", err, out.String())
	}
	if out.String() != "got hello\n" {
		t.Fatalf("child said %q", out.String())
	}
}
