//! `admin_location`: the IPv4 CIDR allowed to reach the nodes over SSH.

use std::net::Ipv4Addr;

/// Whether the CIDR lets the whole internet in (worth a warning).
pub fn is_open_to_all(cidr: &str) -> bool {
    cidr.trim() == "0.0.0.0/0"
}

/// `a.b.c.d/n` with n in 0..=32; the error names the option.
pub fn check(cidr: &str) -> Result<(), String> {
    let problem = || {
        format!(
            "backend.options.admin_location: {cidr:?} is not an IPv4 CIDR such as 203.0.113.7/32"
        )
    };
    let (address, prefix) = cidr.split_once('/').ok_or_else(problem)?;
    address.parse::<Ipv4Addr>().map_err(|_| problem())?;
    match prefix.parse::<u8>() {
        Ok(bits) if bits <= 32 && !prefix.starts_with('+') => Ok(()),
        _ => Err(problem()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_are_checked_and_the_open_one_is_spotted() {
        assert!(check("10.0.0.0/8").is_ok());
        assert!(check("203.0.113.7/32").is_ok());
        assert!(check("0.0.0.0/0").is_ok());
        for bad in [
            "10.0.0.0",
            "10.0.0/8",
            "10.0.0.0/33",
            "300.1.1.1/8",
            "x/1",
            "",
        ] {
            let error = check(bad).expect_err(bad);
            assert!(error.contains("admin_location"), "{error}");
        }
        assert!(is_open_to_all("0.0.0.0/0"));
        assert!(!is_open_to_all("10.0.0.0/8"));
    }
}
