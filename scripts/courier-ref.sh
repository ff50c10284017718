#!/bin/sh
# courier-ref.sh — install and locate the real Courier-IMAP 5.0.13 (Debian 12
# packages) used as the behavioural and performance reference.
#
# Debian's courier-imap/courier-pop conflict with other IMAP/POP3 servers
# (dovecot), so, as in reference §0.2, their .deb files are unpacked with
# dpkg -x into $COURIER_REF (default /opt/courier-ref/root) and only their
# shared libraries plus courier-authdaemon and courier-authlib-userdb are
# installed normally. The system authdaemond service is not started here;
# the benchmark harness starts it itself when needed.
#
# usage: courier-ref.sh install   # idempotent; needs root and network
#        courier-ref.sh paths     # prints sh assignments IMAPD=... etc.
#        courier-ref.sh check     # exit 0 when installed
#        courier-ref.sh adduser NAME UID GID HOME MAILDIR PASSWORD
#                                 # adds/replaces a userdb account and
#                                 # enables authuserdb in authdaemonrc
#        courier-ref.sh deluser NAME
#        courier-ref.sh authd-start|authd-stop|authd-status
#                                 # the system authdaemond (its socket is
#                                 # compiled into libcourierauth:
#                                 # /run/courier/authdaemon/socket)
set -eu

COURIER_REF_DIR=${COURIER_REF_DIR:-/opt/courier-ref}
ROOT=$COURIER_REF_DIR/root
DEBS=$COURIER_REF_DIR/debs
STAMP=$COURIER_REF_DIR/.installed
# Libraries and auth packages installed the ordinary way (reference §0.2).
SYSPKGS="libcourier-unicode4 libgamin0 gamin libgdbm6 libidn12 libpcre3 libgnutls30 courier-authlib courier-authdaemon courier-authlib-userdb gnutls-bin"

paths() {
	cat <<P
COURIER_ROOT=$ROOT
IMAPD=$ROOT/usr/bin/imapd
IMAPLOGIN=$ROOT/usr/lib/courier/courier/imaplogin
COURIERTCPD=$ROOT/usr/sbin/couriertcpd
POP3D=$ROOT/usr/lib/courier/courier/courierpop3d
POP3LOGIN=$ROOT/usr/lib/courier/courier/courierpop3login
MAILDIRMAKE=$ROOT/usr/bin/maildirmake.courier
DELIVERQUOTA=$ROOT/usr/bin/deliverquota.courier
COURIERTLS=$ROOT/usr/bin/couriertls
IMAPD_CONF=$ROOT/etc/courier/imapd
IMAPDSSL_CONF=$ROOT/etc/courier/imapd-ssl
POP3D_CONF=$ROOT/etc/courier/pop3d
POP3DSSL_CONF=$ROOT/etc/courier/pop3d-ssl
AUTHDAEMOND=/usr/sbin/authdaemond
AUTHDAEMON_SOCKET=/run/courier/authdaemon/socket
AUTHDAEMONRC=/etc/courier/authdaemonrc
MAKEUSERDB=/usr/sbin/makeuserdb
USERDB=/usr/sbin/userdb
USERDBPW=/usr/sbin/userdbpw
LD_LIBRARY_PATH=
P
}

check() {
	[ -f "$STAMP" ] && [ -x "$ROOT/usr/bin/imapd" ] && [ -x /usr/sbin/authdaemond ]
}

install_locked() {
	if check; then
		echo "courier-ref: already installed in $ROOT"
		return 0
	fi
	mkdir -p "$DEBS" "$ROOT"
	# Keep services from starting during the package installation only if
	# no policy is present already; remove it afterwards.
	added_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		added_policy=1
	fi
	if ! apt-cache policy courier-imap | grep -q Candidate:.*[0-9]; then
		flock /tmp/apt.lock apt-get update
	fi
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive flock /tmp/apt.lock apt-get install -y --no-install-recommends $SYSPKGS
	[ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d
	(cd "$DEBS" && flock /tmp/apt.lock apt-get download courier-imap courier-pop courier-base)
	for f in "$DEBS"/*.deb; do
		dpkg -x "$f" "$ROOT"
	done
	# The system authdaemond must not run as a service behind our back;
	# the harness starts it (the Debian package enables it).
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now courier-authdaemon >/dev/null 2>&1 || true
	fi
	if [ -x /etc/init.d/courier-authdaemon ]; then
		/etc/init.d/courier-authdaemon stop >/dev/null 2>&1 || true
	fi
	"$ROOT/usr/bin/imapd" --version >/dev/null 2>&1 || true
	date -u >"$STAMP"
	echo "courier-ref: installed in $ROOT"
}

enable_userdb() {
	rc=/etc/courier/authdaemonrc
	if ! grep -q '^authmodulelist=.*authuserdb' "$rc"; then
		sed -i 's/^authmodulelist="\(.*\)"/authmodulelist="authuserdb \1"/' "$rc"
		# a running daemon re-reads authdaemonrc on restart only
		if authd_status >/dev/null 2>&1; then authd_stop; authd_start; fi
	fi
}

adduser() {
	[ $# -eq 6 ] || { echo "usage: $0 adduser NAME UID GID HOME MAILDIR PASSWORD" >&2; exit 2; }
	exec 8>/tmp/courier-userdb.lock
	flock 8
	enable_userdb
	/usr/sbin/userdb "$1" set uid="$2" gid="$3" home="$4" mail="$5"
	printf '%s\n%s\n' "$6" "$6" | /usr/sbin/userdbpw -md5 | /usr/sbin/userdb "$1" set systempw
	/usr/sbin/makeuserdb
}

deluser() {
	[ $# -eq 1 ] || { echo "usage: $0 deluser NAME" >&2; exit 2; }
	exec 8>/tmp/courier-userdb.lock
	flock 8
	/usr/sbin/userdb "$1" del >/dev/null 2>&1 || true
	/usr/sbin/makeuserdb
}

authd_status() {
	pidf=/run/courier/authdaemon/pid
	[ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null && [ -S /run/courier/authdaemon/socket ]
}

authd_start() {
	if authd_status; then return 0; fi
	mkdir -p /run/courier/authdaemon
	chown courier:courier /run/courier/authdaemon
	chmod 750 /run/courier/authdaemon
	/usr/sbin/authdaemond start
	i=0
	while [ $i -lt 50 ] && ! [ -S /run/courier/authdaemon/socket ]; do sleep 0.1; i=$((i + 1)); done
	authd_status
}

# authdaemond stop only signals the daemon, which takes a moment to exit;
# wait for it, or a start right after (the next harness run) would find
# the old pid and socket still there, skip starting, and every login would
# then meet "Connection refused" once the old daemon is gone.
authd_stop() {
	pidf=/run/courier/authdaemon/pid
	pid=$(cat "$pidf" 2>/dev/null || true)
	/usr/sbin/authdaemond stop || true
	[ -n "$pid" ] || return 0
	i=0
	while [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
	if kill -0 "$pid" 2>/dev/null; then
		echo "courier-ref.sh: authdaemond (pid $pid) did not stop" >&2
		return 1
	fi
}

case "${1:-}" in
install)
	mkdir -p "$COURIER_REF_DIR"
	exec 9>/tmp/courier-ref.lock
	flock 9
	install_locked
	;;
paths) paths ;;
check) check ;;
adduser) shift; adduser "$@" ;;
deluser) shift; deluser "$@" ;;
authd-start) authd_start ;;
authd-stop) authd_stop ;;
authd-status) authd_status ;;
*)
	echo "usage: $0 install|paths|check" >&2
	exit 2
	;;
esac
