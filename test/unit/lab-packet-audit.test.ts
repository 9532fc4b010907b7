import { describe, expect, it } from '@jest/globals';
import { auditCapture, blameLab, parsePacket } from '../../lab/packet-audit.js';

const signature = { ports: [32764, 15017, 9090] };

describe('the packet audit of a lab run', () => {
  it('parses tcpdump -nn lines', () => {
    expect(parsePacket('07:07:59.196987 IP 192.0.2.2.53891 > 10.255.255.53.53: 8720+ AAAA? deb.debian.org. (32)')).toMatchObject({
      src: '192.0.2.2',
      srcPort: 53891,
      dst: '10.255.255.53',
      dstPort: 53,
    });
    expect(parsePacket('07:08:00.1 ARP, Request who-has 192.0.2.1 tell 192.0.2.2')).toBeUndefined();
  });

  it.each([
    ['a packet to a service cluster IP', '1.0 IP 192.0.2.2.41000 > 10.0.0.166.443: Flags [S]', /10\.0\.0\.166 is a lab address/],
    ['loopback leaking onto a real interface', '1.0 IP 127.1.0.4.8080 > 192.0.2.9.5000: Flags [S]', /loopback on a real interface/],
    ['a packet to a lab port', '1.0 IP 192.0.2.2.41000 > 192.0.2.7.32764: Flags [S]', /port 32764 belongs to a lab process/],
    ['a DNS lookup of a cluster service name', '1.0 IP 192.0.2.2.5353 > 10.255.255.53.53: 1+ A? istiod-1-30-3.istio-system.svc. (40)', /DNS lookup of istiod/],
    ['a DNS lookup of an image registry', '1.0 IP 192.0.2.2.5353 > 10.255.255.53.53: 1+ A? docker.io. (27)', /DNS lookup of docker\.io/],
  ])('blames the lab for %s', (_what, line, reason) => {
    expect(blameLab(line, signature)?.reason).toMatch(reason);
  });

  it.each([
    ['a package install resolving the Debian mirror', '1.0 IP 192.0.2.2.53891 > 10.255.255.53.53: 8720+ AAAA? deb.debian.org. (32)'],
    ['the resolver answering', '1.0 IP 10.255.255.53.53 > 192.0.2.2.53891: 8720 0/0/0 (32)'],
    ['HTTPS to a registry', '1.0 IP 192.0.2.2.41000 > 203.0.113.10.443: Flags [S]'],
  ])('does not blame the lab for %s', (_what, line) => {
    expect(blameLab(line, signature)).toBeUndefined();
  });

  it('counts packets and lists the blamed ones', () => {
    const result = auditCapture(
      ['1.0 IP 192.0.2.2.41000 > 203.0.113.10.443: Flags [S]', 'garbage', '1.0 IP 192.0.2.2.41000 > 10.0.0.1.443: Flags [S]'],
      signature,
    );
    expect(result.packets).toBe(2);
    expect(result.blamed).toHaveLength(1);
  });
});
