// SPDX-License-Identifier: GPL-2.0
//! The packet given to skb and XDP programs by BPF_PROG_TEST_RUN.
//!
//! 64 bytes: Ethernet (14) + IPv4 (20, valid checksum) + TCP (20, valid
//! checksum) + a 10-byte payload.  The layout is documented in
//! Documentation/harness.rst and mirrored by the RDYNPTR_TEST_PKT_*
//! constants of include/rdynptr/bpf_test.h.

pub const ETH_LEN: usize = 14;
pub const IP_LEN: usize = 20;
pub const TCP_LEN: usize = 20;
pub const PAYLOAD: &[u8; 10] = b"rdynptr-ok";
pub const PAYLOAD_OFF: usize = ETH_LEN + IP_LEN + TCP_LEN;
pub const LEN: usize = PAYLOAD_OFF + PAYLOAD.len();

pub const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
pub const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const SADDR: [u8; 4] = [10, 0, 0, 1];
pub const DADDR: [u8; 4] = [10, 0, 0, 2];
pub const SPORT: u16 = 40000;
pub const DPORT: u16 = 8080;
pub const SEQ: u32 = 1;
pub const ACK_SEQ: u32 = 1;
const ETH_P_IP: u16 = 0x0800;
const IPPROTO_TCP: u8 = 6;
const TCP_PSH_ACK: u8 = 0x18;

/// Internet checksum (RFC 1071) of `data`, with `init` as a starting sum.
fn csum(init: u32, data: &[u8]) -> u16 {
    let mut sum = init;
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Builds the test packet.
pub fn build() -> [u8; LEN] {
    let mut p = [0u8; LEN];
    // Ethernet
    p[0..6].copy_from_slice(&DST_MAC);
    p[6..12].copy_from_slice(&SRC_MAC);
    p[12..14].copy_from_slice(&ETH_P_IP.to_be_bytes());

    // IPv4
    let ip = ETH_LEN;
    p[ip] = 0x45; // version 4, 5 words
    p[ip + 1] = 0; // DSCP/ECN
    let tot_len = (IP_LEN + TCP_LEN + PAYLOAD.len()) as u16;
    p[ip + 2..ip + 4].copy_from_slice(&tot_len.to_be_bytes());
    p[ip + 4..ip + 6].copy_from_slice(&1u16.to_be_bytes()); // id
    p[ip + 6..ip + 8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF
    p[ip + 8] = 64; // ttl
    p[ip + 9] = IPPROTO_TCP;
    p[ip + 12..ip + 16].copy_from_slice(&SADDR);
    p[ip + 16..ip + 20].copy_from_slice(&DADDR);
    let c = csum(0, &p[ip..ip + IP_LEN]);
    p[ip + 10..ip + 12].copy_from_slice(&c.to_be_bytes());

    // TCP
    let t = ETH_LEN + IP_LEN;
    p[t..t + 2].copy_from_slice(&SPORT.to_be_bytes());
    p[t + 2..t + 4].copy_from_slice(&DPORT.to_be_bytes());
    p[t + 4..t + 8].copy_from_slice(&SEQ.to_be_bytes());
    p[t + 8..t + 12].copy_from_slice(&ACK_SEQ.to_be_bytes());
    p[t + 12] = 5 << 4; // data offset: 5 words
    p[t + 13] = TCP_PSH_ACK;
    p[t + 14..t + 16].copy_from_slice(&65535u16.to_be_bytes()); // window
    p[PAYLOAD_OFF..].copy_from_slice(PAYLOAD);
    // Pseudo header: saddr, daddr, zero, protocol, TCP length.
    let seg_len = (TCP_LEN + PAYLOAD.len()) as u32;
    let mut pseudo = 0u32;
    for w in [&SADDR[0..2], &SADDR[2..4], &DADDR[0..2], &DADDR[2..4]] {
        pseudo += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    pseudo += u32::from(IPPROTO_TCP) + seg_len;
    let c = csum(pseudo, &p[t..]);
    p[t + 16..t + 18].copy_from_slice(&c.to_be_bytes());
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn ip_total_length_covers_the_rest_of_the_packet() {
        let p = build();
        let ip_tot = usize::from(u16::from_be_bytes([p[16], p[17]]));
        assert_eq!(ETH_LEN + ip_tot, p.len());
        assert_eq!(p.len() as u32, crate::spec::TEST_DATA_LEN);
    }

    #[test]
    fn ipv4_header_checksum_verifies() {
        let p = build();
        assert_eq!(csum(0, &p[ETH_LEN..ETH_LEN + IP_LEN]), 0);
        // And it is not trivially zero.
        assert_ne!(&p[ETH_LEN + 10..ETH_LEN + 12], &[0, 0]);
    }

    #[test]
    fn tcp_checksum_verifies_with_pseudo_header() {
        let p = build();
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&SADDR);
        pseudo.extend_from_slice(&DADDR);
        pseudo.extend_from_slice(&[0, 6, 0, 30]);
        pseudo.extend_from_slice(&p[ETH_LEN + IP_LEN..]);
        assert_eq!(csum(0, &pseudo), 0);
    }

    #[test]
    fn known_checksum_values() {
        // Computed independently for this exact header.
        let p = build();
        assert_eq!(u16::from_be_bytes([p[24], p[25]]), 0x26c3);
        assert_eq!(u16::from_be_bytes([p[50], p[51]]), 0xa20d);
    }

    #[test]
    fn header_fields_are_where_they_belong() {
        let p = build();
        assert_eq!(&p[12..14], &[0x08, 0x00]);
        assert_eq!(p[14] >> 4, 4);
        assert_eq!(u16::from_be_bytes([p[16], p[17]]), 50);
        assert_eq!(p[23], 6);
        assert_eq!(&p[26..30], &[10, 0, 0, 1]);
        assert_eq!(u16::from_be_bytes([p[34], p[35]]), 40000);
        assert_eq!(u16::from_be_bytes([p[36], p[37]]), 8080);
        assert_eq!(&p[54..], b"rdynptr-ok");
    }

    /// The RDYNPTR_TEST_PKT_* macros of bpf_test.h describe this packet.
    #[test]
    fn bpf_test_h_constants_match_the_packet() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../include/rdynptr/bpf_test.h"
        );
        let text = std::fs::read_to_string(path).expect("read bpf_test.h");
        let defs: HashMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("#define "))
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                Some((it.next()?, it.next()?))
            })
            .collect();
        let num = |name: &str| -> u64 {
            let v = defs[name];
            let v = if v == "TEST_DATA_LEN" { defs[v] } else { v };
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).unwrap(),
                None => v.parse().unwrap(),
            }
        };
        assert_eq!(num("TEST_DATA_LEN"), LEN as u64);
        assert_eq!(num("RDYNPTR_TEST_PKT_LEN"), LEN as u64);
        assert_eq!(num("RDYNPTR_TEST_PKT_ETH_LEN"), ETH_LEN as u64);
        assert_eq!(num("RDYNPTR_TEST_PKT_IP_LEN"), IP_LEN as u64);
        assert_eq!(num("RDYNPTR_TEST_PKT_TCP_LEN"), TCP_LEN as u64);
        assert_eq!(num("RDYNPTR_TEST_PKT_PAYLOAD_OFF"), PAYLOAD_OFF as u64);
        assert_eq!(num("RDYNPTR_TEST_PKT_PAYLOAD_LEN"), PAYLOAD.len() as u64);
        assert_eq!(
            num("RDYNPTR_TEST_PKT_SADDR"),
            u64::from(u32::from_be_bytes(SADDR))
        );
        assert_eq!(
            num("RDYNPTR_TEST_PKT_DADDR"),
            u64::from(u32::from_be_bytes(DADDR))
        );
        assert_eq!(num("RDYNPTR_TEST_PKT_SPORT"), u64::from(SPORT));
        assert_eq!(num("RDYNPTR_TEST_PKT_DPORT"), u64::from(DPORT));
        assert_eq!(num("POINTER_VALUE"), u64::from(crate::spec::POINTER_VALUE));
        let payload = defs["RDYNPTR_TEST_PKT_PAYLOAD"].trim_matches('"');
        assert_eq!(payload.as_bytes(), PAYLOAD);
    }
}
