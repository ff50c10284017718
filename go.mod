module gocourier

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/emersion/go-imap/v2 v2.0.0-beta.8
	github.com/emersion/go-message v0.18.2
	github.com/go-crypt/crypt v0.14.15
	golang.org/x/sys v0.50.0
	golang.org/x/text v0.44.0
)

require (
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	github.com/go-crypt/x v0.4.16 // indirect
)
