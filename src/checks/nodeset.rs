//! Compact node lists such as `agents-[1-3,7],masters-1`, the form clush and
//! dshbak made familiar: hundreds of nodes fit on one line.

use std::collections::BTreeMap;

/// Folds names that share a prefix and end in a number into bracketed ranges.
/// Numbers with leading zeros keep their width and fold only with equal widths.
pub fn compact(names: &[impl AsRef<str>]) -> String {
    // (prefix, digit width or 0 when unpadded) -> numbers
    let mut numbered: BTreeMap<(String, usize), Vec<u64>> = BTreeMap::new();
    let mut plain: Vec<String> = Vec::new();
    for name in names {
        let name = name.as_ref();
        let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, number) = name.split_at(name.len() - digits);
        match number.parse::<u64>() {
            Ok(value) if !number.is_empty() => {
                let width = if number.starts_with('0') && number.len() > 1 {
                    number.len()
                } else {
                    0
                };
                numbered
                    .entry((prefix.to_owned(), width))
                    .or_default()
                    .push(value);
            }
            _ => plain.push(name.to_owned()),
        }
    }
    let mut parts: Vec<(String, String)> =
        plain.into_iter().map(|name| (name.clone(), name)).collect();
    for ((prefix, width), mut numbers) in numbered {
        numbers.sort_unstable();
        numbers.dedup();
        let format = |value: u64| format!("{value:0width$}");
        let ranges = ranges(&numbers)
            .into_iter()
            .map(|(first, last)| {
                if first == last {
                    format(first)
                } else {
                    format!("{}-{}", format(first), format(last))
                }
            })
            .collect::<Vec<_>>();
        let text = if numbers.len() == 1 {
            format!("{prefix}{}", ranges.join(","))
        } else {
            format!("{prefix}[{}]", ranges.join(","))
        };
        parts.push((prefix, text));
    }
    parts.sort();
    parts
        .into_iter()
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join(",")
}

/// The reverse of [`compact`]: `web[1-3,7].lan,db1` → each name. Padded
/// ranges (`n[01-03]`) keep their width.
pub fn expand(list: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for item in split_top_level(list) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some(open) = item.find('[') else {
            names.push(item.to_owned());
            continue;
        };
        let close = item[open..]
            .find(']')
            .map(|at| open + at)
            .ok_or_else(|| format!("unclosed [ in {item:?}"))?;
        let (prefix, ranges, suffix) = (&item[..open], &item[open + 1..close], &item[close + 1..]);
        if suffix.contains('[') {
            return Err(format!("one [range] per name is supported, found {item:?}"));
        }
        for range in ranges.split(',') {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            let width = if first.len() > 1 && first.starts_with('0') {
                first.len()
            } else {
                0
            };
            let bad = || format!("bad range {range:?} in {item:?}");
            let first_number: u64 = first.trim().parse().map_err(|_| bad())?;
            let last_number: u64 = last.trim().parse().map_err(|_| bad())?;
            if last_number < first_number || last_number - first_number > 100_000 {
                return Err(bad());
            }
            for number in first_number..=last_number {
                names.push(format!("{prefix}{number:0width$}{suffix}"));
            }
        }
    }
    Ok(names)
}

/// Splits on commas that are not inside brackets.
fn split_top_level(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (index, c) in list.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&list[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts
}

fn ranges(sorted: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &value in sorted {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == value => *last = value,
            _ => out.push((value, value)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{compact, expand};

    #[test]
    fn expand_reverses_compact() {
        assert_eq!(
            expand("web[1-3,7].lan,db1").expect("valid"),
            vec!["web1.lan", "web2.lan", "web3.lan", "web7.lan", "db1"]
        );
        assert_eq!(
            expand("n[08-10]").expect("valid"),
            vec!["n08", "n09", "n10"]
        );
        assert_eq!(
            expand("10.0.0.[1-2]").expect("valid"),
            vec!["10.0.0.1", "10.0.0.2"]
        );
        let names = expand("agent-[1-3,7]").expect("valid");
        assert_eq!(compact(&names), "agent-[1-3,7]");
        assert!(expand("web[1-").is_err());
        assert!(expand("web[3-1]").is_err());
    }

    #[test]
    fn folds_runs_and_keeps_gaps() {
        assert_eq!(
            compact(&["agent-1", "agent-2", "agent-3", "agent-7"]),
            "agent-[1-3,7]"
        );
        assert_eq!(compact(&["agent-3", "agent-1", "agent-2"]), "agent-[1-3]");
        assert_eq!(compact(&["master-1"]), "master-1");
    }

    #[test]
    fn mixes_prefixes_plain_names_and_padding() {
        assert_eq!(
            compact(&["b-2", "a-1", "gateway", "b-1", "a-10"]),
            "a-[1,10],b-[1-2],gateway"
        );
        assert_eq!(compact(&["n01", "n02", "n03", "n4"]), "n4,n[01-03]");
        assert_eq!(compact(&[] as &[&str]), "");
        assert_eq!(compact(&["x-1", "x-1"]), "x-1");
    }
}
