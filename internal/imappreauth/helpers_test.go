package imappreauth_test

// testEnv is the environment of a Debian-configured Courier (§3.1).
var testEnv = map[string]string{
	"IMAP_CAPABILITY": "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE",
	"IMAP_ACL":        "1",
}
