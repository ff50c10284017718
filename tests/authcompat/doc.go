// Package authcompat proves, end to end over real sockets, that the login
// stages and the authentication daemon of this suite interoperate with
// Courier's in both directions (reference §10):
//
//   - our couriertcpd + imaplogin/imapd + pop3login/pop3d against Debian's
//     courier-authdaemond (0.71) with a userdb built by Debian's userdb,
//     userdbpw and makeuserdb;
//   - real Courier-IMAP 5.0.13's couriertcpd + imaplogin/imapd +
//     courierpop3login/courierpop3d against our authdaemond with a userdb
//     made by our tools;
//   - CRAM-MD5 across both pairs (hmac-md5pw made by the other side's
//     userdbpw -hmac-md5).
//
// Invariants: everything runs as root inside a private mount+pid namespace
// (unshare -m -p -f) with tmpfs over /etc/courier and
// /run/courier/authdaemon, so the host's Courier configuration and any
// authdaemond running on the host are never touched, and every daemon
// started dies with the namespace. Servers listen on 127.0.0.1 ports chosen
// at run time; the clients are Python's imaplib and poplib, run from
// outside the namespace (the network namespace is shared). The package has
// tests only; this file carries the documentation.
package authcompat
