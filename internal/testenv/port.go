package testenv

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// FreePort returns a loopback TCP port that was free a moment ago, for a
// server that a test starts by port number (through the rc scripts, a
// config file or a command line).
//
// It is drawn at random from 20000-32767, below Linux's default range of
// ephemeral ports (32768-60999). A port that net.Listen(":0") hands out
// comes from that range, and so does the local port of every outgoing
// connection: with test packages running in parallel, one of their many
// client connections took the port between our check and the server's
// bind ("address already in use", a flaky make check).
func FreePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		p := 20000 + rand.IntN(12768)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	t.Fatal("no free port in 20000-32767")
	return 0
}
