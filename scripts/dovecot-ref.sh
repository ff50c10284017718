#!/bin/sh
# dovecot-ref.sh — Debian's Dovecot as a second performance reference.
#
# The system service is disabled: dovecot only ever runs here from a private
# configuration (dovecot -c <conf>) bound to 127.0.0.1 on given ports, with
# one passwd-file user whose mail is a Maildir (mail_location = maildir:...).
# Nothing under /etc/dovecot is modified.
#
# usage: dovecot-ref.sh install
#        dovecot-ref.sh conf DIR IMAPPORT POP3PORT USER UID GID HOME MAILDIR PASSWORD
#                             # writes DIR/dovecot.conf and DIR/passwd
#        dovecot-ref.sh start DIR   # background; DIR/run/master.pid
#        dovecot-ref.sh stop DIR
#        dovecot-ref.sh paths       # DOVECOT=... DOVECOT_VERSION=...
#        dovecot-ref.sh check
set -eu

check() {
	[ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/pop3 ]
}

install() {
	exec 9>/tmp/dovecot-ref.lock
	flock 9
	if ! check; then
		if ! apt-cache policy dovecot-imapd | grep -q 'Candidate:.*[0-9]'; then
			flock /tmp/apt.lock apt-get update
		fi
		DEBIAN_FRONTEND=noninteractive flock /tmp/apt.lock \
			apt-get install -y --no-install-recommends dovecot-imapd dovecot-pop3d
	fi
	# never run the system instance
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
	fi
	update-rc.d dovecot disable >/dev/null 2>&1 || true
	if [ -f /run/dovecot/master.pid ]; then
		/usr/sbin/dovecot stop >/dev/null 2>&1 || true
	fi
	echo "dovecot-ref: $(/usr/sbin/dovecot --version)"
}

conf() {
	[ $# -eq 9 ] || { echo "usage: $0 conf DIR IMAPPORT POP3PORT USER UID GID HOME MAILDIR PASSWORD" >&2; exit 2; }
	dir=$1
	mkdir -p "$dir/run" "$dir/state"
	# passwd-file: user:password:uid:gid:gecos:home:shell:extra
	printf '%s:{PLAIN}%s:%s:%s::%s::userdb_mail=maildir:%s\n' "$4" "$9" "$5" "$6" "$7" "$8" >"$dir/passwd"
	chgrp dovecot "$dir/passwd"
	chmod 640 "$dir/passwd"
	cat >"$dir/dovecot.conf" <<C
# private benchmark instance; everything else at Debian's defaults
protocols = imap pop3
listen = 127.0.0.1
base_dir = $dir/run
state_dir = $dir/state
instance_name = dovecot-bench-$2
log_path = $dir/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:$8
passdb {
  driver = passwd-file
  args = scheme=PLAIN $dir/passwd
}
userdb {
  driver = passwd-file
  args = $dir/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $2
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $3
  }
  inet_listener pop3s {
    port = 0
  }
}
service imap {
  process_limit = 1024
}
# the default (10 per user and IP) would cap the 50-session test; Courier
# runs with -maxperip=400
protocol imap {
  mail_max_userip_connections = 400
}
protocol pop3 {
  mail_max_userip_connections = 400
}
C
}

case "${1:-}" in
install) install ;;
check) check ;;
conf) shift; conf "$@" ;;
start) /usr/sbin/dovecot -c "$2/dovecot.conf" ;;
stop) /usr/sbin/dovecot -c "$2/dovecot.conf" stop ;;
paths)
	echo "DOVECOT=/usr/sbin/dovecot"
	echo "DOVECOT_VERSION='$(/usr/sbin/dovecot --version 2>/dev/null || true)'"
	;;
*)
	echo "usage: $0 install|conf|start|stop|paths|check" >&2
	exit 2
	;;
esac
