//! The W3C propagation rules as data: headers in → headers sent downstream. Shared by the unit
//! test (`w3c.rs`, extraction then injection in-process) and the HTTP test
//! (`tests/propagation.rs`, axum extraction → reqwest-tracing injection across real processes).

#![allow(dead_code, unreachable_pub)]

pub const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
pub const PARENT: &str = "00f067aa0ba902b7";

pub struct Case {
    pub name: &'static str,
    pub traceparent: Vec<String>,
    pub tracestate: Vec<String>,
    pub baggage: Vec<String>,
    /// `Some(flags)`: the trace continues (same trace id) with these flags downstream;
    /// `None`: the input is invalid and a new trace starts.
    pub continues_with_flags: Option<&'static str>,
    /// The `tracestate` sent downstream (`None`: no header).
    pub tracestate_out: Option<String>,
    /// The baggage members sent downstream (order carries no meaning).
    pub baggage_out: Vec<String>,
}

fn tp(s: &str) -> Vec<String> {
    vec![s.to_owned()]
}

fn valid(flags: &str) -> Vec<String> {
    tp(&format!("00-{TRACE}-{PARENT}-{flags}"))
}

fn case(
    name: &'static str,
    traceparent: Vec<String>,
    continues_with_flags: Option<&'static str>,
) -> Case {
    Case {
        name,
        traceparent,
        tracestate: vec![],
        baggage: vec![],
        continues_with_flags,
        tracestate_out: None,
        baggage_out: vec![],
    }
}

fn state(name: &'static str, lines: &[&str], out: Option<&str>) -> Case {
    Case {
        tracestate: lines.iter().map(|l| l.to_string()).collect(),
        tracestate_out: out.map(str::to_owned),
        ..case(name, valid("01"), Some("01"))
    }
}

fn bag(name: &'static str, lines: &[&str], out: &[&str]) -> Case {
    Case {
        baggage: lines.iter().map(|l| l.to_string()).collect(),
        baggage_out: out.iter().map(|m| m.to_string()).collect(),
        ..case(name, valid("01"), Some("01"))
    }
}

pub fn cases() -> Vec<Case> {
    let t = TRACE;
    let p = PARENT;
    let many = |n: usize| {
        (0..n)
            .map(|i| format!("k{i}=v{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let big_member = |i: usize| format!("b{i}={}", "x".repeat(1000));
    vec![
        // traceparent: valid
        case("sampled", valid("01"), Some("01")),
        case("not sampled", valid("00"), Some("00")),
        case("level 2 random flag is kept", valid("03"), Some("03")),
        case("unknown flags are not passed on", valid("ff"), Some("03")),
        case(
            "higher version, exact length",
            tp(&format!("01-{t}-{p}-01")),
            Some("01"),
        ),
        case(
            "higher version, extra field after a dash",
            tp(&format!("cc-{t}-{p}-01-what-the-future-holds")),
            Some("01"),
        ),
        // traceparent: invalid → new trace
        case(
            "upper-case trace id",
            tp(&format!("00-{}-{p}-01", t.to_uppercase())),
            None,
        ),
        case("upper-case flags", tp(&format!("00-{t}-{p}-0A")), None),
        case(
            "short trace id",
            tp(&format!("00-{}-{p}-01", &t[1..])),
            None,
        ),
        case("long parent id", tp(&format!("00-{t}-{p}0-01")), None),
        case(
            "signed trace id",
            tp(&format!("00-+{}-{p}-01", &t[1..])),
            None,
        ),
        case("one-digit version", tp(&format!("0-{t}-{p}-01")), None),
        case("one-digit flags", tp(&format!("00-{t}-{p}-1")), None),
        case("version ff", tp(&format!("ff-{t}-{p}-01")), None),
        case(
            "all-zero trace id",
            tp(&format!("00-{}-{p}-01", "0".repeat(32))),
            None,
        ),
        case(
            "all-zero parent id",
            tp(&format!("00-{t}-{}-01", "0".repeat(16))),
            None,
        ),
        case(
            "version 00 with a trailing dash",
            tp(&format!("00-{t}-{p}-01-")),
            None,
        ),
        case(
            "version 00 with extra fields",
            tp(&format!("00-{t}-{p}-01-extra")),
            None,
        ),
        case(
            "higher version, extra without a dash",
            tp(&format!("01-{t}-{p}-01x")),
            None,
        ),
        case(
            "two traceparent headers",
            vec![valid("01")[0].clone(), valid("01")[0].clone()],
            None,
        ),
        case(
            "not hex",
            tp(&format!("00-{}-{p}-01", "g".repeat(32))),
            None,
        ),
        case("empty", tp(""), None),
        case("huge", tp(&"0".repeat(100_000)), None),
        // tracestate
        state(
            "a simple list passes through",
            &["congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"],
            Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
        ),
        state(
            "header lines are combined in order",
            &["a=1", "b=2,c=3"],
            Some("a=1,b=2,c=3"),
        ),
        state(
            "empty members and whitespace are ignored",
            &["a=1, ,\tb=2 ,,", ""],
            Some("a=1,b=2"),
        ),
        state(
            "multi-tenant key",
            &["tenant1@vendor=v,7tenant@sys_tem=w"],
            Some("tenant1@vendor=v,7tenant@sys_tem=w"),
        ),
        state(
            "value with inner spaces",
            &["a=hello world"],
            Some("a=hello world"),
        ),
        state(
            "a key may start with a digit and have no '@'",
            &["7abc=1"],
            Some("7abc=1"),
        ),
        state("a key may end in '@'", &["a@=1,ok=2"], Some("a@=1,ok=2")),
        state(
            "a 256-character key is kept",
            &[&format!("{}=v", "k".repeat(256))],
            Some(&format!("{}=v", "k".repeat(256))),
        ),
        state(
            "a 257-character key discards the list",
            &[&format!("ok=1,{}=v", "k".repeat(257))],
            None,
        ),
        state("a key starting with '@' discards the list", &["@a=1"], None),
        // Valid by the grammar, refused by the opentelemetry API's TraceState: dropped alone.
        state(
            "two '@' in a key: that member is dropped, the rest kept",
            &["a@b@c=1,ok=2"],
            Some("ok=2"),
        ),
        state(
            "16 characters after '@': that member is dropped, the rest kept",
            &["ok=1,t@abcdefghijklmnop=v"],
            Some("ok=1"),
        ),
        state(
            "a 241-character tenant with a 14-character system: dropped, the rest kept",
            &[&format!("ok=1,{}@{}=v", "t".repeat(241), "s".repeat(14))],
            Some("ok=1"),
        ),
        state("upper-case key discards the list", &["Key=v"], None),
        state("value with '=' discards the list", &["a=b=c"], None),
        state("empty value discards the list", &["a="], None),
        state("control character discards the list", &["a=b\u{7f}"], None),
        state("member without '=' discards the list", &["a=1,b"], None),
        state(
            "a duplicate key keeps its first entry",
            &["foo=1,bar=2,foo=3"],
            Some("foo=1,bar=2"),
        ),
        state(
            "a duplicate key over two header lines keeps its first entry",
            &["a=1,b=2", "a=3,c=4"],
            Some("a=1,b=2,c=4"),
        ),
        state(
            "the same member twice is sent once",
            &["foo=1,foo=1"],
            Some("foo=1"),
        ),
        state("32 members are kept", &[&many(32)], Some(&many(32))),
        state("33 members discard the list", &[&many(33)], None),
        state("an empty tracestate is not sent", &[""], None),
        Case {
            tracestate: vec!["a=1".into()],
            ..case(
                "tracestate without a valid traceparent is ignored",
                tp("garbage"),
                None,
            )
        },
        // baggage
        bag(
            "a member passes through",
            &["userId=alice"],
            &["userId=alice"],
        ),
        bag(
            "header lines are combined",
            &["a=1", "b=2"],
            &["a=1", "b=2"],
        ),
        bag(
            "percent-encoding round-trips",
            &["k=hello%20world%2C%3B"],
            &["k=hello%20world%2C%3B"],
        ),
        bag("a literal % is re-encoded", &["k=100%25"], &["k=100%25"]),
        bag("values may contain '='", &["k=a=b"], &["k=a=b"]),
        bag(
            "properties are kept as sent",
            &["k=v;p1;p2=x;p3=%2C"],
            &["k=v;p1;p2=x;p3=%2C"],
        ),
        bag(
            "invalid members are dropped, the rest kept",
            &["good=1,bad key=2,q=\"x\",also=3,=4,k=%ff"],
            &["good=1", "also=3"],
        ),
        bag(
            "whitespace around members and '=' is ignored",
            &[" a = 1 ,\tb=2"],
            &["a=1", "b=2"],
        ),
        bag(
            "64 members are kept, the 65th dropped",
            &[&many(65)],
            &many(64).split(',').collect::<Vec<_>>(),
        ),
        bag(
            "members past 8192 bytes are dropped whole",
            &[&(0..9).map(big_member).collect::<Vec<_>>().join(",")],
            &(0..8)
                .map(big_member)
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        ),
    ]
}
