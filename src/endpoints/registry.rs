//! [`Registry`]: which endpoint types the description strings know, and the parsers of the
//! standard ones (`tcp`, `tcp6`, `unix`). Twisted finds parsers as plugins; here a registry
//! is a plain value: [`Registry::standard`] has the built-in types, and a program (or a
//! later module, TLS first) adds its own with [`Registry::add_server`] and
//! [`Registry::add_client`].
//!
//! Tests: `tests/endpoints_grammar.rs`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use super::error::EndpointError;
use super::grammar::{Description, Param, Params};
use super::tcp::{TcpClientEndpoint, TcpServerEndpoint};
use super::unix::{UnixClientEndpoint, UnixServerEndpoint};
use super::{ClientEndpoint, IntoReactorTcp, ServerEndpoint};
use crate::tcp::ReactorTcp;

/// Makes a server endpoint from a parsed description.
pub type ServerParser =
    Rc<dyn Fn(Rc<dyn ReactorTcp>, &Description) -> Result<ServerEndpoint, EndpointError>>;

/// Makes a client endpoint from a parsed description.
pub type ClientParser =
    Rc<dyn Fn(Rc<dyn ReactorTcp>, &Description) -> Result<ClientEndpoint, EndpointError>>;

/// Prefixes of the TLS module: in a build without it, they give
/// [`EndpointError::TlsUnavailable`] rather than "unknown endpoint type".
const TLS_PREFIXES: [&str; 2] = ["ssl", "tls"];

/// The endpoint types description strings may name, server and client side.
///
/// # Examples
///
/// Adding a type of one's own (Twisted's endpoint plugins):
///
/// ```
/// use torsion::endpoints::{Param, Registry, ServerEndpoint, TcpServerEndpoint};
///
/// // "web:8080" listens on port 8080 of the loopback interface only.
/// let mut registry = Registry::standard();
/// registry.add_server("web", |reactor, description| {
///     let params = description.bind(&[Param::positional("port")])?;
///     let port = params.parse_required("port", "a number", |s| s.parse().ok())?;
///     Ok(ServerEndpoint::new(
///         TcpServerEndpoint::new(reactor, port).with_interface("127.0.0.1"),
///     ))
/// });
///
/// let reactor = torsion::Reactor::new()?;
/// let endpoint = registry.server_from_string(&reactor, "web:8080")?;
/// let tcp = endpoint.downcast_ref::<TcpServerEndpoint>().unwrap();
/// assert_eq!((tcp.port(), tcp.interface()), (8080, "127.0.0.1"));
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    servers: Vec<(String, ServerParser)>,
    clients: Vec<(String, ClientParser)>,
}

impl Registry {
    /// A registry that knows no endpoint type.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The built-in types: `tcp`, `tcp6` and `unix`, for servers and clients, and with
    /// the `tls` feature `ssl` and `tls` (see `torsion::tls`).
    pub fn standard() -> Registry {
        let mut r = Registry::new();
        r.add_server("tcp", |reactor, d| parse_tcp_server(reactor, d, false));
        r.add_server("tcp6", |reactor, d| parse_tcp_server(reactor, d, true));
        r.add_server("unix", parse_unix_server);
        r.add_client("tcp", parse_tcp_client);
        r.add_client("tcp6", parse_tcp_client);
        r.add_client("unix", parse_unix_client);
        #[cfg(feature = "tls")]
        crate::tls::register_endpoints(&mut r);
        r
    }

    /// Registers (or replaces) the server parser for `prefix` (matched without regard to
    /// case).
    pub fn add_server<F>(&mut self, prefix: &str, parser: F) -> &mut Registry
    where
        F: Fn(Rc<dyn ReactorTcp>, &Description) -> Result<ServerEndpoint, EndpointError> + 'static,
    {
        let prefix = prefix.to_ascii_lowercase();
        self.servers.retain(|(p, _)| *p != prefix);
        self.servers.push((prefix, Rc::new(parser)));
        self
    }

    /// Registers (or replaces) the client parser for `prefix`.
    pub fn add_client<F>(&mut self, prefix: &str, parser: F) -> &mut Registry
    where
        F: Fn(Rc<dyn ReactorTcp>, &Description) -> Result<ClientEndpoint, EndpointError> + 'static,
    {
        let prefix = prefix.to_ascii_lowercase();
        self.clients.retain(|(p, _)| *p != prefix);
        self.clients.push((prefix, Rc::new(parser)));
        self
    }

    /// The server prefixes known, in registration order.
    pub fn server_prefixes(&self) -> Vec<&str> {
        self.servers.iter().map(|(p, _)| p.as_str()).collect()
    }

    /// The client prefixes known, in registration order.
    pub fn client_prefixes(&self) -> Vec<&str> {
        self.clients.iter().map(|(p, _)| p.as_str()).collect()
    }

    /// A server endpoint from a description (Twisted's `serverFromString`).
    ///
    /// # Errors
    ///
    /// An [`EndpointError`] naming what is wrong with the description.
    pub fn server_from_string(
        &self,
        reactor: impl IntoReactorTcp,
        description: &str,
    ) -> Result<ServerEndpoint, EndpointError> {
        let d = Description::parse(description)?;
        let parser = find(&self.servers, &d.prefix)?;
        parser(reactor.into_reactor_tcp(), &d)
    }

    /// A client endpoint from a description (Twisted's `clientFromString`).
    ///
    /// # Errors
    ///
    /// An [`EndpointError`] naming what is wrong with the description.
    pub fn client_from_string(
        &self,
        reactor: impl IntoReactorTcp,
        description: &str,
    ) -> Result<ClientEndpoint, EndpointError> {
        let d = Description::parse(description)?;
        let parser = find(&self.clients, &d.prefix)?;
        parser(reactor.into_reactor_tcp(), &d)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("servers", &self.server_prefixes())
            .field("clients", &self.client_prefixes())
            .finish()
    }
}

fn find<'a, P>(table: &'a [(String, P)], prefix: &str) -> Result<&'a P, EndpointError> {
    let lower = prefix.to_ascii_lowercase();
    if let Some((_, parser)) = table.iter().find(|(p, _)| *p == lower) {
        return Ok(parser);
    }
    if TLS_PREFIXES.contains(&lower.as_str()) {
        return Err(EndpointError::TlsUnavailable {
            prefix: prefix.to_string(),
        });
    }
    Err(EndpointError::UnknownType {
        prefix: prefix.to_string(),
        expected: table.iter().map(|(p, _)| p.clone()).collect(),
    })
}

// ----- the standard parsers -----

/// Twisted's `_parseTCP` and `_TCP6ServerParser` (whose positional order differs).
const TCP_SERVER: &[Param] = &[
    Param::positional("port"),
    Param::positional("interface"),
    Param::positional("backlog"),
];
const TCP6_SERVER: &[Param] = &[
    Param::positional("port"),
    Param::positional("backlog"),
    Param::positional("interface"),
];
/// Twisted's `_parseUNIX`.
const UNIX_SERVER: &[Param] = &[
    Param::positional("address"),
    Param::positional("mode"),
    Param::positional("backlog"),
    Param::positional("lockfile"),
];
/// Twisted's `_parseClientTCP`: host and port positional, the rest by keyword.
const TCP_CLIENT: &[Param] = &[
    Param::positional("host"),
    Param::positional("port"),
    Param::keyword("timeout"),
    Param::keyword("bindAddress"),
];
/// Twisted's `_parseClientUNIX` (`lockfile` stands for `checkPID`; both are taken).
const UNIX_CLIENT: &[Param] = &[
    Param::positional("path"),
    Param::keyword("timeout"),
    Param::keyword("lockfile"),
    Param::keyword("checkPID"),
];

fn parse_tcp_server(
    reactor: Rc<dyn ReactorTcp>,
    d: &Description,
    ipv6: bool,
) -> Result<ServerEndpoint, EndpointError> {
    let p = d.bind(if ipv6 { TCP6_SERVER } else { TCP_SERVER })?;
    let port = port(&p, "port")?;
    let mut endpoint = if ipv6 {
        TcpServerEndpoint::new_ipv6(reactor, port)
    } else {
        TcpServerEndpoint::new(reactor, port)
    };
    if let Some(interface) = p.parse("interface", "an IP address", interface)? {
        endpoint = endpoint.with_interface(interface);
    }
    if let Some(backlog) = p.parse("backlog", "a number", backlog)? {
        endpoint = endpoint.with_backlog(backlog);
    }
    Ok(ServerEndpoint::new(endpoint))
}

fn parse_unix_server(
    reactor: Rc<dyn ReactorTcp>,
    d: &Description,
) -> Result<ServerEndpoint, EndpointError> {
    let p = d.bind(UNIX_SERVER)?;
    let path = p.parse_required("address", "a path", non_empty)?;
    let mut endpoint = UnixServerEndpoint::new(reactor, path);
    if let Some(mode) = p.parse("mode", "an octal mode", octal_mode)? {
        endpoint = endpoint.with_mode(mode);
    }
    if let Some(backlog) = p.parse("backlog", "a number", backlog)? {
        endpoint = endpoint.with_backlog(backlog);
    }
    if let Some(lockfile) = p.parse("lockfile", "0 or 1", flag)? {
        endpoint = endpoint.with_lockfile(lockfile);
    }
    Ok(ServerEndpoint::new(endpoint))
}

fn parse_tcp_client(
    reactor: Rc<dyn ReactorTcp>,
    d: &Description,
) -> Result<ClientEndpoint, EndpointError> {
    let p = d.bind(TCP_CLIENT)?;
    let host = p.parse_required("host", "a host name or address", non_empty)?;
    let port = port(&p, "port")?;
    let mut endpoint = TcpClientEndpoint::new(reactor, host, port);
    if let Some(timeout) = p.parse("timeout", "a number of seconds", seconds)? {
        endpoint = endpoint.with_timeout(Some(timeout));
    }
    if let Some(ip) = p.parse("bindAddress", "an IP address", ip_address)? {
        endpoint = endpoint.with_bind_address(Some(SocketAddr::new(ip, 0)));
    }
    Ok(ClientEndpoint::new(endpoint))
}

fn parse_unix_client(
    reactor: Rc<dyn ReactorTcp>,
    d: &Description,
) -> Result<ClientEndpoint, EndpointError> {
    let p = d.bind(UNIX_CLIENT)?;
    let path = p.parse_required("path", "a path", non_empty)?;
    let mut endpoint = UnixClientEndpoint::new(reactor, path);
    if let Some(timeout) = p.parse("timeout", "a number of seconds", seconds)? {
        endpoint = endpoint.with_timeout(Some(timeout));
    }
    let lockfile = p.parse("lockfile", "0 or 1", flag)?;
    let check_pid = p.parse("checkPID", "0 or 1", flag)?;
    if let Some(check) = check_pid.or(lockfile) {
        endpoint = endpoint.with_check_pid(check);
    }
    Ok(ClientEndpoint::new(endpoint))
}

// ----- values -----

/// A port: "not a number", or "not a port number" when it is a number out of range.
fn port(p: &Params, name: &'static str) -> Result<u16, EndpointError> {
    let text = p.required(name)?;
    let n: u64 = text
        .trim()
        .parse()
        .map_err(|_| p.bad_value(name, text, "a number"))?;
    u16::try_from(n).map_err(|_| p.bad_value(name, text, "a port number (0 to 65535)"))
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// `""` (every IPv4 interface) or an IP address, brackets allowed around IPv6.
fn interface(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some(String::new());
    }
    ip_address(s).map(|_| s.to_string())
}

fn ip_address(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    s.parse().ok()
}

fn backlog(s: &str) -> Option<i32> {
    s.trim()
        .parse::<u32>()
        .ok()
        .and_then(|n| i32::try_from(n).ok())
}

/// Octal permission bits, as Twisted's `int(mode, 8)`: `666`, `0660`, also `0o660`.
fn octal_mode(s: &str) -> Option<u32> {
    let s = s.trim();
    let digits = s.strip_prefix("0o").unwrap_or(s);
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o7777 && !digits.is_empty())
}

/// Twisted's `bool(int(x))`.
fn flag(s: &str) -> Option<bool> {
    s.trim().parse::<i64>().ok().map(|n| n != 0)
}

/// Seconds, whole or fractional (Twisted takes whole seconds only).
fn seconds(s: &str) -> Option<Duration> {
    let secs: f64 = s.trim().parse().ok()?;
    Duration::try_from_secs_f64(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(octal_mode("666"), Some(0o666));
        assert_eq!(octal_mode("0660"), Some(0o660));
        assert_eq!(octal_mode("0o600"), Some(0o600));
        assert_eq!(octal_mode("8"), None);
        assert_eq!(octal_mode(""), None);
        assert_eq!(octal_mode("77777"), None);
        assert_eq!(flag("0"), Some(false));
        assert_eq!(flag("2"), Some(true));
        assert_eq!(flag("yes"), None);
        assert_eq!(seconds("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(seconds("-1"), None);
        assert_eq!(seconds("nan"), None);
        assert_eq!(ip_address("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(interface(""), Some(String::new()));
        assert_eq!(interface("localhost"), None);
        assert_eq!(backlog("-1"), None);
        assert_eq!(backlog("0"), Some(0));
    }
}
