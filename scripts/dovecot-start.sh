#!/usr/bin/env bash
# A private Dovecot IMAP server on loopback for the IMAP4 client tests (tests/imap_dovecot.rs
# runs it; also usable by hand). Never reads or changes /etc/dovecot.
#
# Usage: scripts/dovecot-start.sh DIR IMAP_PORT IMAPS_PORT
#   DIR         state directory, wiped and rebuilt (must be traversable by user vmail:
#               put it under /tmp, not under /root)
#   IMAP_PORT   plain IMAP with STARTTLS on 127.0.0.1
#   IMAPS_PORT  IMAP over TLS on 127.0.0.1
# User alice, password secret (PLAIN, LOGIN and CRAM-MD5); INBOX holds three messages with
# subjects "Test message 1", "Test message 2", "Test message 3" (the third is
# multipart/mixed: a text part and a small application/octet-stream part).
# Certificates: DIR/certs (scripts/tls-certs.sh; trust DIR/certs/ca.pem, name localhost).
# Pid file: DIR/dovecot.pid   Log: DIR/dovecot.log   Stop: scripts/dovecot-stop.sh DIR
# Needs root (Dovecot switches to the mail user) and dovecot-imapd (installed here with
# apt-get if missing).
set -euo pipefail
D=${1:?usage: dovecot-start.sh DIR IMAP_PORT IMAPS_PORT}
P=${2:?imap port}
SP=${3:?imaps port}
HERE=$(cd "$(dirname "$0")" && pwd)
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

if ! command -v dovecot >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dovecot-imapd >/dev/null ||
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dovecot-imapd >/dev/null; }
fi
# Dovecot refuses to deliver mail as root: a system user owns the mailbox.
id vmail >/dev/null 2>&1 || useradd -r -M -d /nonexistent -s /usr/sbin/nologin vmail

if [ -s "$D/dovecot.pid" ] && kill -0 "$(cat "$D/dovecot.pid")" 2>/dev/null; then
    echo "dovecot already running in $D (pid $(cat "$D/dovecot.pid"))"
    exit 0
fi
rm -rf "$D"
mkdir -p "$D/run" "$D/state"
chmod 755 "$D"
bash "$HERE/tls-certs.sh" "$D/certs" >/dev/null
chmod 644 "$D"/certs/*.key # test-only keys; dovecot reads them after dropping privileges

U=$(id -u vmail)
G=$(id -g vmail)
echo "alice:{PLAIN}secret:$U:$G::$D/home/alice::" >"$D/users"
chmod 644 "$D/users"
M=$D/home/alice/Maildir
mkdir -p "$M/cur" "$M/new" "$M/tmp"
# Dovecot gives UIDs in file name order: the names start with increasing timestamps.
for i in 1 2; do
    printf 'From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: Test message %d\r\nDate: Mon, 1 Jan 2024 10:0%d:00 +0000\r\nMessage-ID: <msg%d@example.com>\r\n\r\nBody of message %d.\r\n' \
        "$i" "$i" "$i" "$i" >"$M/cur/170000000$i.M${i}P1.localhost:2,"
done
printf '%s\r\n' 'From: Carol <carol@example.com>' 'To: alice@example.com' 'Cc: Bob <bob@example.com>' \
    'Subject: Test message 3' 'Date: Mon, 1 Jan 2024 10:03:00 +0000' 'Message-ID: <msg3@example.com>' \
    'MIME-Version: 1.0' 'Content-Type: multipart/mixed; boundary="XYZ"' '' \
    '--XYZ' 'Content-Type: text/plain; charset=us-ascii' '' 'Body of message 3.' \
    '--XYZ' 'Content-Type: application/octet-stream; name="data.bin"' 'Content-Transfer-Encoding: base64' '' \
    'AAECAwQFBgc=' '--XYZ--' >"$M/cur/1700000003.M3P1.localhost:2,"
chown -R vmail:vmail "$D/home"

cat >"$D/dovecot.conf" <<CONF
# private Dovecot 2.3 configuration for torsion's IMAP4 client tests
protocols = imap
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
instance_name = torsion-dovecot-$P
log_path = $D/dovecot.log
first_valid_uid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5
# No 2 s pause after a failed login (the tests check refusals).
auth_failure_delay = 0
ssl = yes
ssl_cert = <$D/certs/server-chain.pem
ssl_key = <$D/certs/server.key
ssl_min_protocol = TLSv1.2
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $P
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $SP
    ssl = yes
  }
}
CONF
# Daemonizes (the master writes run/master.pid); its output goes to the log so that a
# caller reading this script's output is not kept waiting by the daemon's open pipe.
dovecot -c "$D/dovecot.conf" </dev/null >>"$D/dovecot.log" 2>&1

wait_tcp() {
    local i
    for ((i = 0; i < 150; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "dovecot-start.sh: timeout waiting for 127.0.0.1:$1 (see $D/dovecot.log)" >&2
    return 1
}
wait_tcp "$P"
wait_tcp "$SP"
cp "$D/run/master.pid" "$D/dovecot.pid"
echo "dovecot pid $(cat "$D/dovecot.pid"): imap 127.0.0.1:$P imaps 127.0.0.1:$SP (alice/secret, CA $D/certs/ca.pem)"
