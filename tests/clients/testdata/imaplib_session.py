# Two concurrent imaplib sessions on one mailbox (tests/clients
# TestPythonImaplib). Usage: imaplib_session.py port user password count
# Prints "ok" at the end; any failed assertion raises with its context.
import imaplib
import re
import socket
import sys
import time

port, user, password, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])


def login():
    c = imaplib.IMAP4("127.0.0.1", port)
    typ, data = c.login(user, password)
    assert typ == "OK", (typ, data)
    return c


def ok(res):
    typ, data = res
    assert typ == "OK", (typ, data)
    return data


a, b = login(), login()

# LIST: INBOX and the seeded Maildir++ folder, "." as the delimiter.
boxes = ok(a.list())
names = [re.search(rb'"\." "?([^"]*)"?$', l).group(1) for l in boxes]
assert b"INBOX" in names and b"INBOX.Archive" in names, boxes

# SELECT in both sessions.
assert ok(a.select("INBOX")) == [str(count).encode()]
assert ok(b.select("INBOX")) == [str(count).encode()]

# FETCH: flags, sizes, a header and a whole body.
data = ok(a.fetch("1:*", "(UID FLAGS RFC822.SIZE)"))
assert len(data) == count, data
uids, unseen = [], []
for i, line in enumerate(data, 1):
    m = re.match(rb"(\d+) \(UID (\d+) FLAGS \(([^)]*)\) RFC822.SIZE (\d+)\)", line)
    assert m and int(m.group(1)) == i, line
    uids.append(int(m.group(2)))
    if b"\\Seen" not in m.group(3).split():
        unseen.append(i)
assert uids == sorted(uids) and len(set(uids)) == count, uids
data = ok(a.fetch("2", "(RFC822.SIZE BODY.PEEK[])"))
size = int(re.search(rb"RFC822.SIZE (\d+)", data[0][0]).group(1))
assert len(data[0][1]) == size, (len(data[0][1]), size)
data = ok(a.fetch("3", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT)])"))
hdr = data[0][1]
msgid = re.search(rb"(?im)^Message-ID:\s*(<[^>]+>)", hdr).group(1)
assert re.search(rb"(?im)^Subject:", hdr), hdr

# SEARCH agrees with FETCH.
got = [int(x) for x in ok(a.search(None, "UNSEEN"))[0].split()]
assert got == unseen, (got, unseen)
got = ok(a.search(None, "HEADER", "Message-ID", msgid.decode()))[0].split()
assert got == [b"3"], got
got = ok(a.uid("SEARCH", None, "UID", "%d:%d" % (uids[0], uids[4])))[0].split()
assert [int(x) for x in got] == uids[:5], got
body_hits = ok(a.search(None, "BODY", "quixotically"))[0].split()
for n in body_hits:
    text = ok(a.fetch(n, "(BODY.PEEK[TEXT])"))[0][1]
    assert b"quixotically" in text.replace(b"\r\n", b" "), n

# STORE in A is seen by B on its next command.
ok(a.store("3", "+FLAGS", "(\\Flagged)"))
ok(b.noop())
fetches = b.response("FETCH")[1]
assert any(f and f.startswith(b"3 ") and b"\\Flagged" in f for f in fetches), fetches

# APPEND in A: B sees EXISTS.
msg = b"From: py@clients.test\r\nSubject: appended\r\nMessage-ID: <py-1@clients.test>\r\n\r\nhello\r\n"
data = ok(a.append("INBOX", "(\\Seen)", None, msg))
assert b"APPENDUID" in data[0], data
ok(b.noop())
assert b.response("EXISTS")[1][-1] == str(count + 1).encode(), b.untagged_responses

# COPY to another folder, with COPYUID; STATUS counts it.
typ, data = a.copy("3", "INBOX.Archive")
assert typ == "OK" and b"COPYUID" in data[0], data
st = ok(a.status("INBOX.Archive", "(MESSAGES)"))
assert re.search(rb"MESSAGES (\d+)", st[0]).group(1) == b"21", st

# EXPUNGE in A: B gets "* 1 EXPUNGE".
ok(a.store("1", "+FLAGS", "(\\Deleted)"))
assert ok(a.expunge()) == [b"1"]
ok(b.noop())
assert b.response("EXPUNGE")[1] == [b"1"], b.untagged_responses

# IDLE in B (RFC 2177): A's APPEND and STORE arrive without a command.
b.send(b"I1 IDLE\r\n")
line = b.readline()
assert line.startswith(b"+"), line
t0 = time.time()
ok(a.append("INBOX", None, None, msg.replace(b"py-1", b"py-2")))
ok(a.store("2", "+FLAGS", "(\\Answered)"))
b.sock.settimeout(20)
seen_exists = seen_flags = False
while not (seen_exists and seen_flags):
    line = b.readline()
    assert line, "connection closed in IDLE"
    if re.match(rb"\* %d EXISTS" % (count + 1), line):
        seen_exists = True
    if re.match(rb"\* 2 FETCH .*\\Answered", line):
        seen_flags = True
idle_latency = time.time() - t0
b.send(b"DONE\r\n")
while True:
    line = b.readline()
    assert line, "connection closed after DONE"
    if line.startswith(b"I1 "):
        assert line.startswith(b"I1 OK"), line
        break
b.sock.settimeout(None)

# Both views agree at the end.
fa = ok(a.fetch("1:*", "(UID FLAGS)"))
fb = ok(b.fetch("1:*", "(UID FLAGS)"))
norm = lambda d: [re.sub(rb" ?\\Recent", b"", x) for x in d]
assert norm(fa) == norm(fb), (fa, fb)
assert len(fa) == count + 1, len(fa)

ok(a.close())
a.logout()
b.logout()
print("idle latency %.2fs" % idle_latency)
print("ok")
