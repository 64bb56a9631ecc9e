//! Imap4Client against a real Dovecot (apt package `dovecot-imapd`), started by this test
//! with the project's own `scripts/dovecot-start.sh` on free loopback ports and stopped
//! (by its pid) when the test ends, pass or fail. Plain IMAP upgraded with STARTTLS, and
//! IMAPS; login, select, fetch of each kind, search, store, copy, move, append, expunge,
//! the mailbox commands, SASL PLAIN / LOGIN / CRAM-MD5, IDLE woken by a message appended
//! from a second connection, and `examples/imap_fetch.rs` printing the real subject.
//!
//! Skips (with a message) when `dovecot` is not installed or we are not root (Dovecot
//! switches to the mail user); under CI (`CI` set) a missing Dovecot is a failure, since
//! `.ci/run` installs it.
#![cfg(feature = "tls")]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::defer::{Deferred, Failure};
use torsion::endpoints::{client_from_string, connect_protocol};
use torsion::mail::imap4::{
    BodySection, BodyStructure, CramMd5Authenticator, Flag, Imap4Client, Imap4Error, Imap4Hooks,
    LoginAuthenticator, MessageSet, PlainAuthenticator, Query,
};
use torsion::tls::{TlsClientConfig, TrustRoots};
use torsion::Reactor;

/// Dovecot's state directory and ports; stops it on drop.
struct Dovecot {
    dir: PathBuf,
    imap: u16,
    imaps: u16,
}

impl Dovecot {
    fn ca(&self) -> PathBuf {
        self.dir.join("certs/ca.pem")
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dovecot-stop.sh");
        let _ = Command::new("timeout")
            .args(["30", "bash"])
            .arg(script)
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_dovecot() -> Option<Dovecot> {
    let found = [
        "/usr/sbin/dovecot",
        "/usr/local/sbin/dovecot",
        "/sbin/dovecot",
    ]
    .iter()
    .any(|p| Path::new(p).exists())
        || Command::new("dovecot").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "dovecot is not installed; .ci/run installs dovecot-imapd"
        );
        eprintln!("SKIP: dovecot is not installed (apt-get install -y dovecot-imapd)");
        return None;
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("SKIP: the Dovecot tests need root (Dovecot switches to the mail user)");
        return None;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    // Under /tmp: Dovecot's mail user must be able to reach the mailbox.
    let dir = PathBuf::from("/tmp").join(format!("torsion-dovecot-{}-{nanos}", std::process::id()));
    let (imap, imaps) = (free_port(), free_port());
    let dovecot = Dovecot { dir, imap, imaps };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dovecot-start.sh");
    // Bounded: `timeout` ends the script if Dovecot never listens.
    let out = Command::new("timeout")
        .args(["120", "bash"])
        .arg(script)
        .arg(&dovecot.dir)
        .arg(imap.to_string())
        .arg(imaps.to_string())
        .output()
        .expect("run scripts/dovecot-start.sh");
    assert!(
        out.status.success(),
        "dovecot-start.sh failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(dovecot)
}

/// Runs the reactor until `d` fires (30 s at most).
#[track_caller]
fn wait<T: 'static>(reactor: &Reactor, d: Deferred<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !d.called() {
        assert!(Instant::now() < deadline, "timed out");
        reactor.iterate(Duration::from_millis(20)).unwrap();
    }
    match d.take_result().unwrap() {
        Ok(v) => v,
        Err(f) => panic!("failed: {f}"),
    }
}

async fn connect(reactor: &Reactor, description: &str) -> Result<Imap4Client, Failure> {
    let endpoint = client_from_string(reactor, description)?;
    let client = Imap4Client::new();
    connect_protocol(&endpoint, client.protocol()).await?;
    Ok(client)
}

fn imaps(d: &Dovecot) -> String {
    format!("tls:localhost:{}:trustRoots={}", d.imaps, d.ca().display())
}

#[derive(Default)]
struct News {
    exists: RefCell<Vec<u32>>,
    waiter: RefCell<Option<Deferred<u32>>>,
}

impl Imap4Hooks for News {
    fn new_messages(&self, exists: Option<u32>, _recent: Option<u32>) {
        if let Some(n) = exists {
            self.exists.borrow_mut().push(n);
            if let Some(d) = self.waiter.borrow_mut().take() {
                let _ = d.callback(n);
            }
        }
    }
}

/// The example, built now with this test's features: a binary left by another build
/// (`cargo build --no-default-features`, say) may lack TLS. A no-op when it is fresh.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/imap_fetch");
    let mut args = vec!["build", "--example", "imap_fetch"];
    if !cfg!(debug_assertions) {
        args.push("--release"); // the profile this test was built with
    }
    // The environment of a shell, not the one cargo gives tests: build scripts (ring's)
    // watch variables that cargo sets for this process, and would rerun on every switch.
    let mut build = Command::new(env!("CARGO"));
    build.env_clear();
    for (key, value) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        let cargo_set = (key_text.starts_with("CARGO_") && key_text != "CARGO_HOME")
            || key_text == "CARGO"
            || key_text == "LD_LIBRARY_PATH"
            || key_text.starts_with("RUSTC");
        if !cargo_set {
            build.env(key, value);
        }
    }
    let mut build = build
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .spawn()
        .expect("cargo build --example imap_fetch");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(status) = build.try_wait().unwrap() {
            assert!(status.success(), "building the imap_fetch example failed");
            break;
        }
        if Instant::now() > deadline {
            let _ = build.kill();
            panic!("building the imap_fetch example took over 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    path
}

fn run_example(args: &[&str]) -> (bool, String) {
    let mut child = Command::new(example_binary())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("imap_fetch took over 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// One part of the session.
type Phase = fn(&Reactor, &Dovecot);

#[test]
fn against_dovecot() {
    let Some(dovecot) = start_dovecot() else {
        return;
    };
    let started = Instant::now();

    // The seed's program, before anything changes the mailbox.
    let (ok, out) = run_example(&["alice", "secret", &imaps(&dovecot)]);
    assert!(ok, "{out}");
    assert!(
        out.contains("First message subject: Test message 1"),
        "{out}"
    );

    eprintln!("example runs: {:?}", started.elapsed());
    let reactor = Reactor::new().unwrap();
    let phases: [(&str, Phase); 5] = [
        ("STARTTLS login", starttls_login),
        ("SASL", sasl),
        ("messages", messages),
        ("IDLE", idle_sees_an_append_from_another_connection),
        // Last: Dovecot delays the logins that follow a failed one (auth penalty).
        ("refusals", refusals),
    ];
    for (name, phase) in phases {
        let t = Instant::now();
        phase(&reactor, &dovecot);
        eprintln!("{name}: {:?}", t.elapsed());
    }
    reactor.close();
    eprintln!("dovecot scenarios took {:?}", started.elapsed());
}

fn starttls_login(reactor: &Reactor, d: &Dovecot) {
    let description = format!("tcp:127.0.0.1:{}", d.imap);
    let roots = TrustRoots::from_pem_file(d.ca()).unwrap();
    let r = reactor.clone();
    let outcome = Deferred::from_future(async move {
        let client = connect(&r, &description).await?;
        client.set_tls_config(Some(
            TlsClientConfig::new("localhost").with_trust_roots(roots),
        ));
        let caps = client.capability(true).await?;
        assert!(caps.contains(&"STARTTLS".to_string()), "{caps:?}");
        assert!(!client.is_secure());

        client.login("alice", "secret").await?;
        assert!(client.is_secure(), "login upgraded with STARTTLS");
        let caps = client.capability(true).await?;
        assert!(!caps.contains(&"STARTTLS".to_string()), "{caps:?}");
        let inbox = client.select("INBOX").await?;
        client.logout().await?;
        Ok(inbox)
    });
    let inbox = wait(reactor, outcome);
    assert_eq!((inbox.exists, inbox.read_write), (3, true));
    assert!(inbox.uid_validity.is_some() && inbox.uid_next == Some(4));
    assert!(inbox.permanent_flags.unwrap().contains(&Flag::MayCreate));
}

fn sasl(reactor: &Reactor, d: &Dovecot) {
    let description = imaps(d);
    let r = reactor.clone();
    let outcome = Deferred::from_future(async move {
        let mut names = Vec::new();
        for mechanism in 0..3 {
            let client = connect(&r, &description).await?;
            let result = match mechanism {
                0 => {
                    client
                        .authenticate(PlainAuthenticator::new("alice", "secret"))
                        .await
                }
                1 => {
                    client
                        .authenticate(LoginAuthenticator::new("alice", "secret"))
                        .await
                }
                _ => {
                    client
                        .authenticate(CramMd5Authenticator::new("alice", "secret"))
                        .await
                }
            };
            result?;
            names.push(client.namespace().await?.personal[0].1.clone());
            client.logout().await?;
        }
        Ok(names)
    });
    let names = wait(reactor, outcome);
    assert_eq!(
        names,
        [
            Some(".".to_string()),
            Some(".".to_string()),
            Some(".".to_string())
        ]
    );
}

fn refusals(reactor: &Reactor, d: &Dovecot) {
    let description = imaps(d);
    let r = reactor.clone();
    let outcome = Deferred::from_future(async move {
        let client = connect(&r, &description).await?;
        let refused = client
            .authenticate(CramMd5Authenticator::new("alice", "nope"))
            .await
            .unwrap_err();
        client.logout().await?;
        Ok(refused.downcast_ref::<Imap4Error>().cloned())
    });
    let refused = wait(reactor, outcome);
    assert!(matches!(refused, Some(Imap4Error::No(_))), "{refused:?}");
    let plain = format!("tcp:127.0.0.1:{}", d.imap);
    let (ok, out) = run_example(&["alice", "wrong", &plain]);
    assert!(
        !ok && out.contains("IMAP4 client interaction failed"),
        "{out}"
    );
    assert!(out.contains("AUTHENTICATIONFAILED"), "{out}");
}

fn messages(reactor: &Reactor, d: &Dovecot) {
    let description = imaps(d);
    let r = reactor.clone();
    let outcome = Deferred::from_future(async move {
        let c = connect(&r, &description).await?;
        // On the reactor's clock; never reached by a server that answers.
        c.set_timeout(Some(Duration::from_secs(20)));
        c.login("alice", "secret").await?;
        let examined = c.examine("INBOX").await?;
        assert!(!examined.read_write);
        c.select("INBOX").await?;
        let all = MessageSet::range(1, 3);
        assert_eq!(
            c.fetch_uid(&all, false).await?,
            BTreeMap::from([(1, 1), (2, 2), (3, 3)])
        );
        let dates = c.fetch_internal_date(&all, false).await?;
        assert_eq!(dates.len(), 3);
        assert!(dates.values().all(|d| d.contains("20")), "{dates:?}");
        let envelopes = c.fetch_envelope(&all, false).await?;
        assert_eq!(envelopes[&2].subject.as_deref(), Some("Test message 2"));
        assert_eq!(
            envelopes[&1].from[0].email().as_deref(),
            Some("bob@example.com")
        );
        assert_eq!(envelopes[&3].cc[0].name.as_deref(), Some("Bob"));
        assert_eq!(
            envelopes[&3].message_id.as_deref(),
            Some("<msg3@example.com>")
        );
        let structures = c.fetch_body_structure(&all, false).await?;
        assert_eq!(structures[&1].mime_type(), "text/plain");
        let BodyStructure::Multipart { parts, .. } = &structures[&3] else {
            panic!("{:?}", structures[&3])
        };
        let types: Vec<String> = parts.iter().map(BodyStructure::mime_type).collect();
        assert_eq!(types, ["text/plain", "application/octet-stream"]);
        let sizes = c.fetch_size(&all, false).await?;
        let headers = c.fetch_headers(&MessageSet::one(1), false).await?;
        assert!(String::from_utf8_lossy(&headers[&1]).contains("Subject: Test message 1\r\n"));
        let peeked = c
            .fetch_specific(&all, &BodySection::header_fields(["SUBJECT"]).peek(), true)
            .await?;
        assert_eq!(peeked[&3], b"Subject: Test message 3\r\n\r\n");
        let part = c
            .fetch_specific(&MessageSet::one(3), &BodySection::whole().part([2]), false)
            .await?;
        assert_eq!(part[&3], b"AAECAwQFBgc=");
        let partial = c
            .fetch_specific(
                &MessageSet::one(2),
                &BodySection::text().partial(0, 4).peek(),
                false,
            )
            .await?;
        assert_eq!(partial[&2], b"Body");
        assert!(c.fetch_flags(&MessageSet::one(2), false).await?[&2].is_empty());
        let message = c.fetch_message(&MessageSet::one(2), false).await?;
        assert_eq!(message[&2].len() as u64, sizes[&2]);
        assert!(message[&2].ends_with(b"Body of message 2.\r\n"));
        assert_eq!(
            c.fetch_flags(&MessageSet::one(2), false).await?[&2],
            [Flag::Seen]
        );

        // Search: and, or, not, UIDs, a non-ASCII string (CHARSET UTF-8 literal).
        assert_eq!(c.search(&Query::subject("message 2"), false).await?, [2]);
        let either = Query::or(Query::subject("message 1"), Query::subject("message 3"));
        assert_eq!(c.search(&either, false).await?, [1, 3]);
        assert_eq!(
            c.search(&Query::not(Query::from("carol")), true).await?,
            [1, 2]
        );
        // Fetching RFC822 (message 2) and BODY[2] (message 3) without PEEK set \Seen.
        assert_eq!(
            c.search(&Query::seen().and(Query::to("alice")), false)
                .await?,
            [2, 3]
        );
        assert!(c.search(&Query::body("grüße"), false).await?.is_empty());

        // Store.
        let stored = c
            .add_flags(&MessageSet::one(1), &[Flag::Flagged], false, false)
            .await?;
        assert_eq!(stored[&1], [Flag::Flagged]);
        c.set_flags(
            &MessageSet::one(1),
            &[Flag::Answered, Flag::Keyword("$Work".into())],
            true,
            false,
        )
        .await?;
        let flags = c.fetch_flags(&MessageSet::one(1), false).await?;
        assert_eq!(flags[&1], [Flag::Answered, Flag::Keyword("$Work".into())]);
        let removed = c
            .remove_flags(&MessageSet::one(1), &[Flag::Answered], false, true)
            .await?;
        assert_eq!(removed[&1], [Flag::Keyword("$Work".into())]);

        // Mailboxes, copy and move (UIDPLUS gives the UIDs).
        c.create("Archive").await?;
        c.create("Entwürfe").await?;
        let listed = c.list("", "*").await?;
        let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
        assert!(
            names.contains(&"Entwürfe") && names.contains(&"Archive"),
            "{names:?}"
        );
        c.rename("Entwürfe", "Drafts").await?;
        c.subscribe("Drafts").await?;
        assert_eq!(c.lsub("", "*").await?.len(), 1);
        c.unsubscribe("Drafts").await?;
        c.delete("Drafts").await?;
        let copied = c
            .copy(&MessageSet::one(1), "Archive", false)
            .await?
            .expect("COPYUID");
        assert_eq!(copied.destination.to_string(), "1");
        let status = c.status("Archive", &["MESSAGES", "UIDNEXT"]).await?;
        assert_eq!((status["MESSAGES"], status["UIDNEXT"]), (1, 2));
        let moved = c
            .move_messages(&MessageSet::one(3), "Archive", true)
            .await?;
        assert_eq!(moved.expunged, [3]);
        assert_eq!(
            moved.copy_uid.expect("COPYUID").destination.to_string(),
            "2"
        );

        // Append (literal with continuation), then expunge it.
        let message = b"From: Dave <dave@example.com>\r\nSubject: Appended\r\n\r\nHello.\r\n";
        let uid = c
            .append("INBOX", message.to_vec(), &[Flag::Draft], None)
            .await?
            .expect("APPENDUID");
        assert_eq!(uid.uid, 4);
        c.noop().await?;
        let found = c.search(&Query::subject("Appended"), false).await?;
        assert_eq!(found, [3]);
        c.add_flags(&MessageSet::one(3), &[Flag::Deleted], true, false)
            .await?;
        assert_eq!(c.expunge().await?, [3]);
        c.add_flags(&MessageSet::one(2), &[Flag::Deleted], true, false)
            .await?;
        assert_eq!(c.uid_expunge(&MessageSet::one(1)).await?, Vec::<u32>::new());
        c.check().await?;
        c.close().await?;
        let inbox = c.select("INBOX").await?;
        c.logout().await?;
        Ok(inbox.exists)
    });
    assert_eq!(wait(reactor, outcome), 1, "message 2 expunged by CLOSE");
}

fn idle_sees_an_append_from_another_connection(reactor: &Reactor, d: &Dovecot) {
    let description = imaps(d);
    let r = reactor.clone();
    let news = Rc::new(News::default());
    let hooks = news.clone();
    let outcome = Deferred::from_future(async move {
        let watcher = connect(&r, &description).await?;
        watcher.set_hooks(hooks.clone());
        watcher.set_timeout(Some(Duration::from_secs(20))); // not while idling
        watcher.login("alice", "secret").await?;
        let before = watcher.select("INBOX").await?.exists;
        let woken = Deferred::new();
        *hooks.waiter.borrow_mut() = Some(woken.clone());
        watcher.idle().await?;
        let writer = connect(&r, &description).await?;
        writer.login("alice", "secret").await?;
        writer
            .append(
                "INBOX",
                b"Subject: While idle\r\n\r\nwake up\r\n".to_vec(),
                &[],
                None,
            )
            .await?;
        writer.logout().await?;
        let exists = woken.await?;
        watcher.done().await?;
        let subjects = watcher
            .fetch_envelope(&MessageSet::one(exists), false)
            .await?;
        watcher.logout().await?;
        Ok((before, exists, subjects[&exists].subject.clone()))
    });
    let (before, exists, subject) = wait(reactor, outcome);
    assert_eq!(exists, before + 1);
    assert_eq!(subject.as_deref(), Some("While idle"));
    assert_eq!(*news.exists.borrow(), [exists]);
}
