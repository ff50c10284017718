#!/bin/sh
# run-demo.sh - `make run`: install into ./run and serve a demo account.
#
# Builds and installs the suite with PREFIX=<repo>/run, configures IMAP on
# 127.0.0.1:1143 and POP3 on 127.0.0.1:1110, creates the account demo
# (password demo) with the current uid/gid and a maildir holding a few
# messages, then runs authdaemond, the IMAP and the POP3 server in the
# foreground until Ctrl-C (or SIGTERM) stops all three.
#
# Environment: IMAP_PORT, POP3_PORT override the ports; DEMO_DIR the
# installation directory (default <repo>/run); DEMO_NO_SERVE=1 prepares
# everything and exits; KEEP_GOING=1 serves what compiles.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
run=${DEMO_DIR:-"$top/run"}
IMAP_PORT=${IMAP_PORT:-1143}
POP3_PORT=${POP3_PORT:-1110}
MAKE=${MAKE:-make}

cd "$top"
$MAKE --no-print-directory install PREFIX="$run" >/dev/null
$MAKE --no-print-directory install-configure PREFIX="$run"

etc="$run/etc" sbin="$run/sbin" bin="$run/bin" libexec="$run/libexec"
uid=$(id -u) gid=$(id -g) user=$(id -un 2>/dev/null || echo "uid$uid")

if [ "$uid" -ne 0 ]; then
	echo "run-demo: not running as root: everything runs as $user ($uid:$gid)," \
		"and the demo account uses that uid/gid."
else
	# A mail session never runs as root (the login stage refuses uid 0), so
	# as root the demo account gets the owner of the source tree, or the
	# virtual-mail ids 5000:5000 (no /etc/passwd entry is needed).
	uid=${DEMO_UID:-$(stat -c %u "$top")}
	gid=${DEMO_GID:-$(stat -c %g "$top")}
	if [ "$uid" -eq 0 ]; then uid=5000 gid=5000; fi
	echo "run-demo: running as root; the demo account uses uid/gid $uid:$gid."
fi

# set_value FILE NAME VALUE: change a setting's value line, keeping its
# ##NAME block so that install-configure still recognises it.
set_value() {
	if grep -q "^$2=" "$1"; then
		sed -i "s|^$2=.*|$2=$3|" "$1"
	else
		printf '%s=%s\n' "$2" "$3" >> "$1"
	fi
}
set_value "$etc/imapd" ADDRESS 127.0.0.1
set_value "$etc/imapd" PORT "$IMAP_PORT"
set_value "$etc/imapd" IMAPDSTART YES
set_value "$etc/imapd" IMAPACCESSFILE "$etc/imapaccess"
set_value "$etc/pop3d" ADDRESS 127.0.0.1
set_value "$etc/pop3d" PORT "$POP3_PORT"
set_value "$etc/pop3d" POP3DSTART YES
set_value "$etc/authdaemonrc" USERDB "$etc/userdb"

# The demo account and its maildir.
home="$run/home/demo"
maildir="$home/Maildir"
if [ ! -d "$maildir/cur" ]; then
	mkdir -p "$home"
	if [ -x "$bin/maildirmake" ]; then
		"$bin/maildirmake" "$maildir"
	else
		mkdir -p "$maildir/cur" "$maildir/new" "$maildir/tmp"
		chmod 700 "$maildir" "$maildir/cur" "$maildir/new" "$maildir/tmp"
	fi
	now=$(date +%s)
	host=$(hostname 2>/dev/null || echo localhost)
	for i in 1 2 3; do
		f="$maildir/new/$((now + i)).M${i}P$$.$host"
		{
			printf 'From: Demo Sender <sender@example.com>\r\n'
			printf 'To: demo@example.com\r\n'
			printf 'Subject: Demo message %s\r\n' "$i"
			printf 'Date: %s\r\n' "$(LC_ALL=C date -R)"
			printf 'Message-ID: <demo-%s-%s@example.com>\r\n' "$i" "$now"
			printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n'
			printf 'This is demo message number %s.\r\n' "$i"
		} > "$f"
	done
fi
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$uid:$gid" "$home"
	chmod 755 "$run" "$run/home"
	# The session runs as $uid: it must be able to reach bin/imapd and the
	# maildir, which is not the case inside e.g. /root (mode 700).
	if command -v setpriv >/dev/null 2>&1 &&
		! setpriv --reuid="$uid" --regid="$gid" --clear-groups test -x "$bin/imapd" -a -r "$maildir/cur" 2>/dev/null &&
		[ -e "$bin/imapd" ]; then
		echo "run-demo: uid $uid cannot reach $run (a parent directory is not searchable);" \
			"run from elsewhere or set DEMO_DIR=/tmp/gocourier-run" >&2
		exit 1
	fi
fi

hash_password() {
	if [ -x "$sbin/userdbpw" ] && h=$(printf '%s\n%s\n' "$1" "$1" | "$sbin/userdbpw" -sha512 2>/dev/null) && [ -n "$h" ]; then
		printf '%s' "$h"
	elif command -v openssl >/dev/null 2>&1; then
		openssl passwd -6 "$1"
	else
		python3 -c 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))' "$1"
	fi
}

if ! grep -q '^demo	' "$etc/userdb" 2>/dev/null; then
	pw=$(hash_password demo)
	if [ -x "$sbin/userdb" ]; then
		USERDB="$etc/userdb" "$sbin/userdb" demo set "uid=$uid" "gid=$gid" "home=$home" "mail=$maildir" "systempw=$pw" ||
			printf 'demo\tuid=%s|gid=%s|home=%s|mail=%s|systempw=%s\n' "$uid" "$gid" "$home" "$maildir" "$pw" >> "$etc/userdb"
	else
		printf 'demo\tuid=%s|gid=%s|home=%s|mail=%s|systempw=%s\n' "$uid" "$gid" "$home" "$maildir" "$pw" >> "$etc/userdb"
	fi
	chmod 600 "$etc/userdb"
fi
if [ -x "$sbin/makeuserdb" ]; then
	USERDB="$etc/userdb" "$sbin/makeuserdb" 2>/dev/null || true
fi

[ "${DEMO_NO_SERVE:-}" = 1 ] && exit 0

for p in sbin/authdaemond sbin/couriertcpd; do
	if [ ! -x "$run/$p" ]; then
		echo "run-demo: $run/$p is not built yet; cannot serve." >&2
		exit 1
	fi
done
serve_imap=yes serve_pop3=yes
[ -x "$sbin/imaplogin" ] && [ -x "$bin/imapd" ] || { serve_imap=no; echo "run-demo: imaplogin/imapd not built yet; no IMAP" >&2; }
[ -x "$sbin/pop3login" ] && [ -x "$bin/pop3d" ] || { serve_pop3=no; echo "run-demo: pop3login/pop3d not built yet; no POP3" >&2; }

pids=
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "run-demo: stopping"
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$sbin/authdaemond" -f &
pids="$pids $!"
i=0
while [ ! -S "$run/var/authdaemon/socket" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ $serve_imap = yes ]; then
	"$libexec/imapd.rc" foreground &
	pids="$pids $!"
fi
if [ $serve_pop3 = yes ]; then
	"$libexec/pop3d.rc" foreground &
	pids="$pids $!"
fi

cat <<MSG
run-demo: serving (Ctrl-C stops everything)
  IMAP  127.0.0.1:$IMAP_PORT   e.g. python3 -c 'import imaplib; m=imaplib.IMAP4("127.0.0.1",$IMAP_PORT); print(m.login("demo","demo")); print(m.select("INBOX"))'
  POP3  127.0.0.1:$POP3_PORT   e.g. python3 -c 'import poplib; p=poplib.POP3("127.0.0.1",$POP3_PORT); p.user("demo"); print(p.pass_("demo")); print(p.stat())'
  account demo / demo, maildir $maildir
  config $etc, authd socket $run/var/authdaemon/socket
MSG
# Return when any of them exits (or on a signal); cleanup stops the rest.
while :; do
	for p in $pids; do
		if ! kill -0 "$p" 2>/dev/null; then
			echo "run-demo: process $p exited"
			exit 1
		fi
	done
	sleep 1
done
