// Command couriertcpd is the connection listener of the suite: it accepts
// TCP connections and runs one program per connection with the socket on
// fds 0 and 1, like Courier's couriertcpd (reference §2). All logic lives in
// internal/tcpd.
package main

import (
	"os"

	"gocourier/internal/tcpd"
)

func main() {
	os.Exit(tcpd.Main(os.Args[1:]))
}
