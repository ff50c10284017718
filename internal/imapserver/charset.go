package imapserver

import (
	"gocourier/internal/msgsearch"
)

func msgsearchToUTF8(cs string) (string, error) { return msgsearch.ToUTF8(cs, nil) }
