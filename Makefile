# Makefile for gocourier, a Go re-implementation of Courier-IMAP.
#
#   make                      build static binaries into $(BUILDDIR)
#   make install              install under $(DESTDIR)$(PREFIX)
#   make install-configure    install config files from their .dist copies
#   make install-sysvinit     install the LSB init script
#   make install-systemd      install the systemd units
#   make run                  demo servers on 127.0.0.1:1143 / :1110 (./run)
#   make check                go vet, then every test
#
# Binaries are built with the install layout compiled in (internal/paths),
# so they are rebuilt on every invocation (Go's cache makes that cheap) and
# a change of PREFIX always takes effect. KEEP_GOING=1 skips (with a
# warning) the programs that do not compile, for use while they are being
# written; the default is to stop at the first error.

PREFIX        ?= /usr/lib/courier-imap
DESTDIR       ?=
BUILDDIR      ?= build
sysconfdir    ?= $(PREFIX)/etc
bindir        ?= $(PREFIX)/bin
sbindir       ?= $(PREFIX)/sbin
libexecdir    ?= $(PREFIX)/libexec
datadir       ?= $(PREFIX)/share
mandir        ?= $(PREFIX)/man
localstatedir ?= $(PREFIX)/var
INITDIR       ?= /etc/init.d
SYSTEMDUNITDIR ?= /etc/systemd/system

GO       ?= go
INSTALL  ?= install
VERSION  ?= 0.1.0
export CGO_ENABLED = 0

# package-dir:install-dir:name for every program of the agreed layout.
PROGRAMS = \
	tcpd:sbin:couriertcpd \
	cmd/courierlogger:sbin:courierlogger \
	authd:sbin:authdaemond \
	cmd/authtest:sbin:authtest \
	cmd/userdb:sbin:userdb \
	cmd/userdbpw:sbin:userdbpw \
	cmd/makeuserdb:sbin:makeuserdb \
	imapd/imaplogin:sbin:imaplogin \
	imapd:bin:imapd \
	pop3d/pop3login:sbin:pop3login \
	pop3d:bin:pop3d \
	cmd/maildirmake:bin:maildirmake \
	cmd/maildirkw:bin:maildirkw \
	cmd/maildiracl:bin:maildiracl \
	cmd/deliverquota:bin:deliverquota \
	cmd/sysconftool:sbin:sysconftool \
	cmd/couriertls:sbin:couriertls \
	cmd/mkimapdcert:share:mkimapdcert

# Only the programs whose package directory holds Go files are built, so
# the tree builds while some programs are still being written.
present = $(strip $(foreach p,$(PROGRAMS),$(if $(wildcard $(word 1,$(subst :, ,$(p)))/*.go),$(p))))

PKG = gocourier/internal/paths
LDFLAGS = -s -w \
	-X $(PKG).Prefix=$(PREFIX) \
	-X $(PKG).Sysconfdir=$(sysconfdir) \
	-X $(PKG).Bindir=$(bindir) \
	-X $(PKG).Sbindir=$(sbindir) \
	-X $(PKG).Libexecdir=$(libexecdir) \
	-X $(PKG).Datadir=$(datadir) \
	-X $(PKG).Localstatedir=$(localstatedir) \
	-X $(PKG).Version=$(VERSION)

RC_SCRIPTS  = imapd.rc imapd-ssl.rc pop3d.rc pop3d-ssl.rc stderrlogger
CONFIGS     = imapd imapd-ssl pop3d pop3d-ssl authdaemonrc
UNITS       = authdaemond.service imapd.socket imapd.service imapd-accept.socket imapd-accept@.service \
	      pop3d.socket pop3d.service pop3d-accept.socket pop3d-accept@.service \
	      imapd-ssl.socket imapd-ssl.service imapd-ssl-accept.socket imapd-ssl-accept@.service \
	      pop3d-ssl.socket pop3d-ssl.service pop3d-ssl-accept.socket pop3d-ssl-accept@.service
# The manual pages, man/<name>.<section>.
MANPAGES    = couriertcpd.1 authdaemond.8 imapd.8 pop3d.8 userdb.8 userdbpw.8 makeuserdb.8 authtest.1 \
	      maildirmake.1 maildirkw.1 maildiracl.1 deliverquota.8 courierlogger.1 couriertls.1 \
	      sysconftool.1 mkimapdcert.8

# Text templates get the layout substituted.
SUBST = sed -e 's|@prefix@|$(PREFIX)|g' -e 's|@sysconfdir@|$(sysconfdir)|g' \
	-e 's|@bindir@|$(bindir)|g' -e 's|@sbindir@|$(sbindir)|g' \
	-e 's|@libexecdir@|$(libexecdir)|g' -e 's|@datadir@|$(datadir)|g' \
	-e 's|@localstatedir@|$(localstatedir)|g' -e 's|@mandir@|$(mandir)|g' -e 's|@VERSION@|$(VERSION)|g'

.PHONY: all build templates install install-configure install-sysvinit install-systemd run check vet test clean programs bench bench-smoke bench-refs

all: build

programs:
	@for p in $(present); do echo "$$p"; done

# The per-connection session stages (imapd, pop3d) are built without the
# Green Tea garbage collector (Go 1.26's default): its per-span inline mark
# bits touch the last page of every small-object span, about 60 kB more
# Private_Dirty per idle session (DESIGN.md §7). Empty to keep the default.
SESSION_GOEXPERIMENT ?= nogreenteagc

build: templates
	@mkdir -p $(BUILDDIR)
	@set -e; for p in $(present); do \
		dir=$${p%%:*}; name=$${p##*:}; \
		exp="$$GOEXPERIMENT"; \
		case $$name$(if $(SESSION_GOEXPERIMENT),,-) in imapd|pop3d) exp="$${exp:+$$exp,}$(SESSION_GOEXPERIMENT)";; esac; \
		echo "go build -o $(BUILDDIR)/$$name ./$$dir"; \
		if [ -n "$(KEEP_GOING)" ]; then \
			GOEXPERIMENT="$$exp" $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BUILDDIR)/$$name ./$$dir || \
			{ echo "WARNING: $$name does not build; skipped (KEEP_GOING)"; rm -f $(BUILDDIR)/$$name; }; \
		else \
			GOEXPERIMENT="$$exp" $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BUILDDIR)/$$name ./$$dir; \
		fi; \
	done

# The text files with the layout substituted.
templates:
	@mkdir -p $(BUILDDIR)/rc $(BUILDDIR)/etc $(BUILDDIR)/systemd
	@set -e; for f in $(RC_SCRIPTS); do $(SUBST) rc/$$f > $(BUILDDIR)/rc/$$f; done
	@set -e; for f in $(CONFIGS); do $(SUBST) etc/$$f.dist > $(BUILDDIR)/etc/$$f.dist; done
	@$(SUBST) sysvinit/courier-imap.sysvinit > $(BUILDDIR)/courier-imap.sysvinit
	@set -e; for f in $(UNITS); do $(SUBST) systemd/$$f > $(BUILDDIR)/systemd/$$f; done

install: build
	$(INSTALL) -d -m 755 $(DESTDIR)$(PREFIX) $(DESTDIR)$(sysconfdir) $(DESTDIR)$(bindir) \
		$(DESTDIR)$(sbindir) $(DESTDIR)$(libexecdir) $(DESTDIR)$(datadir) $(DESTDIR)$(mandir) \
		$(DESTDIR)$(localstatedir) $(DESTDIR)$(datadir)/systemd
	$(INSTALL) -d -m 750 $(DESTDIR)$(localstatedir)/authdaemon
	chmod 750 $(DESTDIR)$(localstatedir)/authdaemon
	@set -e; for p in $(present); do \
		rest=$${p#*:}; sub=$${rest%%:*}; name=$${p##*:}; \
		case $$sub in bin) d=$(bindir);; sbin) d=$(sbindir);; share) d=$(datadir);; *) d=$(libexecdir);; esac; \
		[ -f $(BUILDDIR)/$$name ] || continue; \
		echo "$(INSTALL) -m 755 $(BUILDDIR)/$$name $(DESTDIR)$$d/$$name"; \
		$(INSTALL) -m 755 $(BUILDDIR)/$$name $(DESTDIR)$$d/$$name; \
	done
	@set -e; for f in $(RC_SCRIPTS); do \
		$(INSTALL) -m 755 $(BUILDDIR)/rc/$$f $(DESTDIR)$(libexecdir)/$$f; done
	@set -e; for f in $(CONFIGS); do \
		$(INSTALL) -m 644 $(BUILDDIR)/etc/$$f.dist $(DESTDIR)$(sysconfdir)/$$f.dist; done
	@# One program, two names: called as mkpop3dcert it makes the POP3 certificate.
	@if [ -f $(BUILDDIR)/mkimapdcert ]; then \
		echo "$(INSTALL) -m 755 $(BUILDDIR)/mkimapdcert $(DESTDIR)$(datadir)/mkpop3dcert"; \
		$(INSTALL) -m 755 $(BUILDDIR)/mkimapdcert $(DESTDIR)$(datadir)/mkpop3dcert; fi
	@# The shell script of earlier releases lived in sbin/.
	rm -f $(DESTDIR)$(sbindir)/mkimapdcert $(DESTDIR)$(sbindir)/mkpop3dcert $(DESTDIR)$(bindir)/couriertls
	$(INSTALL) -m 755 $(BUILDDIR)/courier-imap.sysvinit $(DESTDIR)$(datadir)/courier-imap.sysvinit
	@set -e; for f in $(UNITS); do \
		$(INSTALL) -m 644 $(BUILDDIR)/systemd/$$f $(DESTDIR)$(datadir)/systemd/$$f; done
	$(INSTALL) -m 644 README.md $(DESTDIR)$(datadir)/README.md
	$(INSTALL) -d -m 755 $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man8
	@set -e; for f in $(MANPAGES); do \
		echo "$(INSTALL) -m 644 man/$$f $(DESTDIR)$(mandir)/man$${f##*.}/$$f"; \
		$(INSTALL) -m 644 man/$$f $(DESTDIR)$(mandir)/man$${f##*.}/$$f; done
	@echo "Installed under $(DESTDIR)$(PREFIX). Next: make install-configure"

# sysconftool rules (reference §12.2): new file, same ##VERSION (nothing),
# no ##VERSION (backup + replace) or merge (old file kept as .bak).
install-configure:
	@test -x $(DESTDIR)$(sbindir)/sysconftool || { echo "run make install first"; exit 1; }
	@set -e; for f in $(CONFIGS); do \
		$(DESTDIR)$(sbindir)/sysconftool $(DESTDIR)$(sysconfdir)/$$f.dist; done
	@if [ ! -e $(DESTDIR)$(sysconfdir)/userdb ]; then \
		(umask 077 && : > $(DESTDIR)$(sysconfdir)/userdb) && chmod 600 $(DESTDIR)$(sysconfdir)/userdb && \
		echo "$(DESTDIR)$(sysconfdir)/userdb: created empty (mode 600)"; fi

install-sysvinit: templates
	$(INSTALL) -d -m 755 $(DESTDIR)$(INITDIR)
	$(INSTALL) -m 755 $(BUILDDIR)/courier-imap.sysvinit $(DESTDIR)$(INITDIR)/courier-imap
	@# Register the runlevel links where the system has update-rc.d (Debian)
	@# and we install into the live system, not into a staging DESTDIR.
	@if [ -z "$(DESTDIR)" ] && [ "$(INITDIR)" = /etc/init.d ] && command -v update-rc.d >/dev/null 2>&1; then \
		update-rc.d courier-imap defaults && echo "registered with update-rc.d"; \
	else echo "Enable with: update-rc.d courier-imap defaults"; fi

install-systemd: templates
	$(INSTALL) -d -m 755 $(DESTDIR)$(SYSTEMDUNITDIR)
	@set -e; for f in $(UNITS); do \
		$(INSTALL) -m 644 $(BUILDDIR)/systemd/$$f $(DESTDIR)$(SYSTEMDUNITDIR)/$$f; done
	@echo "Then: systemctl daemon-reload; systemctl enable --now authdaemond.service imapd.socket pop3d.socket imapd-ssl.socket pop3d-ssl.socket"

run:
	./scripts/run-demo.sh

vet:
	$(GO) vet ./...

# The benchmark harness's smoke mode (bench/TestSmoke) runs inside `go test
# ./...`; with BENCH_PREFIX it also measures our installed suite, so check
# installs into build/bench-root first. The harness must never rot.
BENCH_PREFIX ?= $(CURDIR)/build/bench-root
BENCHFLAGS   ?=

test:
	$(MAKE) install PREFIX=$(BENCH_PREFIX) DESTDIR=
	BENCH_PREFIX=$(BENCH_PREFIX) $(GO) test -count=1 -timeout 18m ./...

check: vet test

# The full side-by-side benchmark (ours, real Courier, Dovecot); needs root
# and the reference servers (make bench-refs). Writes BENCHMARKS.md.
bench:
	-$(MAKE) install PREFIX=$(BENCH_PREFIX) DESTDIR=
	$(GO) run ./bench -prefix $(BENCH_PREFIX) $(BENCHFLAGS)

bench-smoke:
	-$(MAKE) install PREFIX=$(BENCH_PREFIX) DESTDIR=
	BENCH_PREFIX=$(BENCH_PREFIX) $(GO) test -count=1 -run TestSmoke -v ./bench

bench-refs:
	sh scripts/courier-ref.sh install && sh scripts/dovecot-ref.sh install

clean:
	rm -rf $(BUILDDIR)
