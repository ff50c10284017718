package imappreauth_test

import (
	"bytes"
	"io"
	"testing"

	"gocourier/internal/authproto"
	"gocourier/internal/imappreauth"
)

// FuzzPreLogin feeds arbitrary input to the pre-auth stage.
func FuzzPreLogin(f *testing.F) {
	f.Add([]byte("a LOGIN {5}\r\nalice pass\r\n"))
	f.Add([]byte("a AUTHENTICATE PLAIN\r\nAGFsaWNlAHBhc3M=\r\nb CAPABILITY\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p := &imappreauth.PreLogin{
			Auth:   func(*authproto.Request) (*authproto.UserInfo, error) { return nil, authproto.ErrFail },
			Getenv: func(string) string { return "" },
		}
		p.Run(bytes.NewReader(in), io.Discard)
	})
}
