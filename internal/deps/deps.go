package deps

import (
	_ "github.com/coreos/go-systemd/v22/activation"
	_ "github.com/coreos/go-systemd/v22/daemon"
	_ "github.com/emersion/go-imap/v2/imapclient"
	_ "github.com/emersion/go-message/charset"
	_ "github.com/go-crypt/crypt"
	_ "golang.org/x/sys/unix"
	_ "golang.org/x/text/encoding"
)
