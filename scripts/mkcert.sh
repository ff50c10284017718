#!/bin/sh
# mkimapdcert / mkpop3dcert - make a self-signed certificate for the IMAP
# or POP3 server, as Courier's scripts of the same names do (reference
# §12.1): the private key and the certificate go into one PEM file,
# TLS_CERTFILE from @sysconfdir@/imapd-ssl (or pop3d-ssl), mode 600. An
# existing file is never overwritten.
#
# Usage: mkimapdcert [-f]   (-f: replace an existing certificate)
# Environment: CERT_CN (default localhost), CERT_DAYS (default 365).
set -eu

sysconfdir="@sysconfdir@"
case "$(basename "$0")" in
*pop3*) conf=pop3d-ssl ;;
*) conf=imapd-ssl ;;
esac

force=no
[ "${1:-}" = -f ] && force=yes

certfile=$(env -i sh -c '. "$1" >/dev/null 2>&1; printf "%s" "$TLS_CERTFILE"' sh "$sysconfdir/$conf")
if [ -z "$certfile" ]; then
	echo "$(basename "$0"): TLS_CERTFILE is not set in $sysconfdir/$conf" >&2
	exit 1
fi
if [ -e "$certfile" ] && [ $force = no ]; then
	echo "$certfile already exists."
	exit 0
fi
if ! command -v openssl >/dev/null 2>&1; then
	echo "$(basename "$0"): openssl is needed" >&2
	exit 1
fi

dir=$(dirname "$certfile")
tmp=$(mktemp -d "$dir/.mkcert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
umask 077
openssl req -x509 -newkey rsa:3072 -nodes -sha256 \
	-days "${CERT_DAYS:-365}" \
	-subj "/CN=${CERT_CN:-localhost}/O=Courier Mail Server" \
	-addext "subjectAltName=DNS:${CERT_CN:-localhost}" \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>"$tmp/log" || {
	cat "$tmp/log" >&2
	exit 1
}
cat "$tmp/key.pem" "$tmp/cert.pem" > "$tmp/both.pem"
chmod 600 "$tmp/both.pem"
mv -f "$tmp/both.pem" "$certfile"
echo "$certfile: self-signed certificate for ${CERT_CN:-localhost}, valid ${CERT_DAYS:-365} days."
