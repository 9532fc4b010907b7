// Judges a packet capture of the machine's non-loopback interfaces taken during
// a lab run: which packets could only have come from the lab. The lab must
// never send one: every address it uses is on 127.0.0.0/8.
//
// The machine shares its interfaces with everything else that runs (package
// installs, DNS for them), so a packet is blamed on the lab only when it names
// something that is the lab's: a Kubernetes service or pod address, KWOK's
// default node range, a loopback address on a real interface, one of the lab's
// ports, or a DNS lookup of a name only the lab would ask for.

export interface LabSignature {
  /** TCP/UDP ports the lab's processes listen on (API server, etcd, injector, ...). */
  ports: number[];
}

/** Address prefixes the lab's objects use or default to (as text prefixes of dotted quads). */
const LAB_ADDRESS_PREFIXES = [
  '10.0.0.', // kube-apiserver's service cluster IPs in the lab (10.0.0.0/24)
  '127.', // loopback on a real interface is always a leak
];

/** Names a lab component would resolve if something pointed it off the machine. */
const LAB_NAME_PATTERNS = [/\.svc(\.cluster\.local)?\.?$/, /\bistiod\b/, /\bdocker\.io\.?$/, /\bregistry\.k8s\.io\.?$/, /\bdl\.k8s\.io\.?$/, /\bgithub\.com\.?$/, /\bgoogleapis\.com\.?$/, /\bistio\.io\.?$/, /\bgcr\.io\.?$/, /\bquay\.io\.?$/];

export interface Verdict {
  line: string;
  reason: string;
}

/** Parses `tcpdump -nn -l` lines: `<ts> IP a.b.c.d.port > e.f.g.h.port: ...`. */
export function parsePacket(line: string): { src: string; srcPort?: number; dst: string; dstPort?: number; rest: string } | undefined {
  const match = /\bIP6? (\S+) > (\S+?):(.*)$/.exec(line);
  if (!match) return undefined;
  const split = (endpoint: string) => {
    const parts = endpoint.split('.');
    const last = parts.at(-1)!;
    // IPv4 endpoints are a.b.c.d.port; without a port they are just a.b.c.d.
    if (parts.length === 5 && /^\d+$/.test(last)) return { addr: parts.slice(0, 4).join('.'), port: Number(last) };
    return { addr: endpoint, port: undefined };
  };
  const src = split(match[1]!);
  const dst = split(match[2]!);
  return { src: src.addr, srcPort: src.port, dst: dst.addr, dstPort: dst.port, rest: match[3]! };
}

export function blameLab(line: string, signature: LabSignature): Verdict | undefined {
  const packet = parsePacket(line);
  if (!packet) return undefined;
  for (const prefix of LAB_ADDRESS_PREFIXES) {
    if (packet.dst.startsWith(prefix)) return { line, reason: `destination ${packet.dst} is a lab address (${prefix}*)` };
    if (packet.src.startsWith(prefix) && prefix === '127.') return { line, reason: `source ${packet.src} is loopback on a real interface` };
  }
  for (const port of [packet.srcPort, packet.dstPort]) {
    if (port !== undefined && signature.ports.includes(port)) return { line, reason: `port ${port} belongs to a lab process` };
  }
  if (packet.dstPort === 53) {
    const name = /\? (\S+)/.exec(packet.rest)?.[1];
    if (name && LAB_NAME_PATTERNS.some((p) => p.test(name))) return { line, reason: `DNS lookup of ${name}, a name only the lab would ask for` };
  }
  return undefined;
}

export function auditCapture(lines: string[], signature: LabSignature): { packets: number; blamed: Verdict[] } {
  const blamed: Verdict[] = [];
  let packets = 0;
  for (const line of lines) {
    if (!parsePacket(line)) continue;
    packets++;
    const verdict = blameLab(line, signature);
    if (verdict) blamed.push(verdict);
  }
  return { packets, blamed };
}
