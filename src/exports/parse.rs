//! exports(5) syntax: `PATH [-DEFAULT_OPTIONS] CLIENT[(OPTIONS)] ...`, one rule a line.
//!
//! Clients are single addresses (IPv4 or IPv6), CIDR networks (`10.0.0.0/8`, `fd00::/8`,
//! `192.168.1.0/255.255.255.0`) or `*`. Hostnames, wildcards and netgroups are refused rather
//! than resolved: who may mount must not change with DNS. `#` starts a comment, a `\` at the
//! end of a line continues the rule on the next, a path with spaces is written in double quotes.
use std::net::IpAddr;

use ipnet::IpNet;

use super::options::{apply_option_list, ExportOptions};
use super::ClientSpec;

/// One rule as written: a path and its clients with their options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The exported directory, normalised (`/`, or `/a/b` without a trailing slash).
    pub path: String,
    pub clients: Vec<(ClientSpec, ExportOptions)>,
    /// Where the rule was written (`--export`, `FILE line N`), for messages.
    pub origin: String,
}

/// A rule that cannot be used: one line naming it and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: export rule {rule:?}: {problem}")]
pub struct RuleError {
    pub origin: String,
    pub rule: String,
    pub problem: String,
}

/// Parses a file's worth of rules (`origin` names the file). `defaults` are the options of a
/// client that gives none.
pub fn parse_rules(
    text: &str,
    origin: &str,
    defaults: ExportOptions,
) -> Result<Vec<Rule>, RuleError> {
    let mut rules = Vec::new();
    for (line_no, line) in logical_lines(text) {
        let origin = format!("{origin} line {line_no}");
        if let Some(rule) = parse_rule(&line, &origin, defaults)? {
            rules.push(rule);
        }
    }
    Ok(rules)
}

/// Parses one rule (a `--export` value); `None` for a blank line or a comment.
pub fn parse_rule(
    line: &str,
    origin: &str,
    defaults: ExportOptions,
) -> Result<Option<Rule>, RuleError> {
    let fail = |problem: String| RuleError {
        origin: origin.to_string(),
        rule: line.trim().to_string(),
        problem,
    };
    let tokens = tokens(strip_comment(line)).map_err(fail)?;
    let Some((path, rest)) = tokens.split_first() else {
        return Ok(None);
    };
    let path = normalise_path(path).map_err(fail)?;
    let mut line_defaults = defaults;
    let mut clients = Vec::new();
    for token in rest {
        if let Some(list) = token.strip_prefix('-') {
            apply_option_list(list, &mut line_defaults).map_err(fail)?;
            continue;
        }
        if token.starts_with('(') {
            return Err(fail(format!(
                "options {token} follow a space, so they name no client: write them right after \
                 the client, e.g. 192.168.1.0/24{token} (or *{token} for everyone)"
            )));
        }
        let (spec, list) = match token.split_once('(') {
            Some((spec, rest)) => {
                let list = rest.strip_suffix(')').ok_or_else(|| {
                    fail(format!(
                        "{token:?} lacks its closing ')': write e.g. {spec}(rw)"
                    ))
                })?;
                (spec, Some(list))
            }
            None => (token.as_str(), None),
        };
        let client = parse_client(spec).map_err(fail)?;
        let mut opts = line_defaults;
        if let Some(list) = list {
            apply_option_list(list, &mut opts).map_err(fail)?;
        }
        clients.push((client, opts));
    }
    if clients.is_empty() {
        return Err(fail(format!(
            "no client: add who may mount it, e.g. {path} 192.168.1.0/24(rw) or {path} *(ro)"
        )));
    }
    Ok(Some(Rule {
        path,
        clients,
        origin: origin.to_string(),
    }))
}

/// The lines of `text` with comments removed and `\` continuations joined, numbered from 1
/// (the number of a rule's first line).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw);
        let (body, continues) = match line.trim_end().strip_suffix('\\') {
            Some(b) => (b.to_string(), true),
            None => (line.to_string(), false),
        };
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        joined.push(' ');
        joined.push_str(&body);
        if continues {
            pending = Some((start, joined));
        } else {
            out.push((start, joined));
        }
    }
    if let Some(last) = pending {
        out.push(last);
    }
    out
}

/// `line` up to a `#` that is not inside double quotes.
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Splits on whitespace; double quotes group (and are removed).
fn tokens(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut in_token = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_token = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_token {
                    out.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            c => {
                cur.push(c);
                in_token = true;
            }
        }
    }
    if quoted {
        return Err("a double quote is not closed: close it, e.g. \"/my dir\" *(ro)".into());
    }
    if in_token {
        out.push(cur);
    }
    Ok(out)
}

/// An absolute directory path without `.`/`..` components, `//` or a trailing slash.
fn normalise_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!(
            "the path {path:?} is not absolute: exports name directories of the filesystem \
             from its root, e.g. / or /projects"
        ));
    }
    let mut parts = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." {
            return Err(format!(
                "the path {path:?} has a {part:?} component: write the directory's path \
                 without it"
            ));
        }
        parts.push(part);
    }
    Ok(format!("/{}", parts.join("/")))
}

/// A client: an address, a network or `*`.
fn parse_client(spec: &str) -> Result<ClientSpec, String> {
    if spec == "*" {
        return Ok(ClientSpec::Any);
    }
    if let Ok(ip) = spec.parse::<IpAddr>() {
        return Ok(ClientSpec::Host(ip.to_canonical()));
    }
    if let Some((addr, mask)) = spec.split_once('/') {
        let net = match (addr.parse::<IpAddr>(), mask.parse::<IpAddr>()) {
            (Ok(ip), Ok(netmask)) => IpNet::with_netmask(ip, netmask).ok(),
            _ => spec.parse::<IpNet>().ok(),
        };
        return net.map(|n| ClientSpec::Net(n.trunc())).ok_or_else(|| {
            format!(
                "{spec:?} is not a network: write ADDRESS/PREFIX, e.g. 192.168.1.0/24 or fd00::/64"
            )
        });
    }
    Err(format!(
        "{spec:?} is not an address, a network or *: hostnames, wildcards and netgroups are not \
         supported (a DNS change must not change who may mount): write an address, e.g. \
         192.168.1.5, or a network, e.g. 192.168.1.0/24"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::Squash;

    fn defaults() -> ExportOptions {
        ExportOptions::defaults(65534, 65534)
    }

    fn one(line: &str) -> Result<Rule, RuleError> {
        parse_rule(line, "--export", defaults()).map(|r| r.expect("a rule"))
    }

    #[test]
    fn rules_of_the_common_cases() {
        let r = one("/ 192.168.1.0/24(rw) 192.168.2.7(ro,all_squash) fd00::/8 *(ro)").unwrap();
        assert_eq!(r.path, "/");
        let specs: Vec<String> = r.clients.iter().map(|(c, _)| c.to_string()).collect();
        assert_eq!(specs, ["192.168.1.0/24", "192.168.2.7", "fd00::/8", "*"]);
        assert!(!r.clients[0].1.read_only);
        assert_eq!(r.clients[0].1.squash, Squash::Root);
        assert_eq!(r.clients[1].1.squash, Squash::All);
        // A client without options gets the defaults: ro, root_squash, secure.
        assert_eq!(r.clients[2].1, defaults());
        // Netmask form, host bits cleared, paths normalised.
        let r = one("//data//x/ 10.1.2.3/255.255.0.0(rw)").unwrap();
        assert_eq!(r.path, "/data/x");
        assert_eq!(r.clients[0].0.to_string(), "10.1.0.0/16");
        // Default options for the rest of the line.
        let r = one("/d -rw,insecure 10.0.0.1 10.0.0.2(ro)").unwrap();
        assert!(!r.clients[0].1.read_only && !r.clients[0].1.secure);
        assert!(r.clients[1].1.read_only && !r.clients[1].1.secure);
        // Quoted path with a space.
        assert_eq!(one("\"/my dir\" *(ro)").unwrap().path, "/my dir");
        // IPv4-mapped IPv6 addresses are IPv4 addresses.
        assert_eq!(
            one("/ ::ffff:10.0.0.1(rw)").unwrap().clients[0]
                .0
                .to_string(),
            "10.0.0.1"
        );
    }

    #[test]
    fn files_have_comments_and_continuations() {
        let text = "# exports\n\n/a 10.0.0.0/8(rw) # lab\n/b \\\n   10.0.0.1(ro) \\\n  10.0.0.2\n";
        let rules = parse_rules(text, "/etc/x", defaults()).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].origin, "/etc/x line 3");
        assert_eq!(rules[1].clients.len(), 2);
        assert_eq!(rules[1].origin, "/etc/x line 4");
        let e = parse_rules("/a *(ro)\n/b 10.0.0.0/33(rw)\n", "/etc/x", defaults()).unwrap_err();
        assert_eq!(e.origin, "/etc/x line 2");
        assert!(parse_rule("   # nothing", "--export", defaults())
            .unwrap()
            .is_none());
    }

    #[test]
    fn every_mistake_is_one_line_with_the_fix() {
        let cases = [
            ("data *(rw)", "not absolute"),
            ("/a/../b *(rw)", "\"..\" component"),
            ("/a", "no client"),
            ("/a 10.0.0.0/8 (rw)", "follow a space"),
            ("/a 10.0.0.0/8(rw", "closing ')'"),
            ("/a 10.0.0.0/33(rw)", "is not a network"),
            ("/a server.example.com(rw)", "hostnames"),
            ("/a @netgroup(rw)", "netgroups"),
            ("/a *.example.com(rw)", "wildcards"),
            ("/a 10.0.0.1(rw,bogus)", "unknown option \"bogus\""),
            ("\"/a 10.0.0.1(rw)", "double quote"),
        ];
        for (line, want) in cases {
            let e = one(line).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(want), "{line}: {text}");
            assert!(text.starts_with("--export: export rule"), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
    }
}
