"""
The DNS messages two real RFC 2136 clients send, built with dnspython (Debian python3-dnspython,
run with /usr/bin/python3), for test/update-clients.test.ts:

- certbot's dns-rfc2136 plugin (certbot-dns-rfc2136 2.x/5.x,
  certbot_dns_rfc2136/_internal/dns_rfc2136.py, _RFC2136Client): the zone found by SOA queries
  with RD cleared, from the record name upwards (dns_common.base_domain_name_guesses), over TCP
  with a UDP fallback, answered with the SOA in the answer section and AA set; then one TSIG-signed
  UPDATE adding the TXT `_acme-challenge.<name>`, and later one deleting that one TXT record
  (class NONE, RFC 2136 2.5.4), each over TCP. Its default algorithm is HMAC-MD5.
- external-dns's rfc2136 provider (provider/rfc2136/rfc2136.go): per batch one UPDATE message
  for the zone with no prerequisites: `m.Remove` of each old record (class NONE, TTL 0) and
  `m.Insert` of each new one, in the order of the changes (a change removes the old targets
  and inserts the new ones), TSIG-signed, over TCP (`c.Net = "tcp"`); and its listing, a
  TSIG-signed AXFR of the zone whose records it reads back.

Usage: rfc2136_clients.py COMMAND JSON-ARGS; prints one JSON object. Exits 0 unless the
arguments are wrong; DNS outcomes (rcodes, failures to find a zone) are in the output.
"""
import json
import sys

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

TIMEOUT = 20

ALGORITHMS = {
    'hmac-md5': dns.tsig.HMAC_MD5,
    'hmac-sha1': dns.tsig.HMAC_SHA1,
    'hmac-sha224': dns.tsig.HMAC_SHA224,
    'hmac-sha256': dns.tsig.HMAC_SHA256,
    'hmac-sha384': dns.tsig.HMAC_SHA384,
    'hmac-sha512': dns.tsig.HMAC_SHA512,
}


def keyring_of(key):
    return dns.tsigkeyring.from_text({key['name']: key['secret']})


def algorithm_of(key):
    # certbot: ALGORITHMS.get(algorithm, dns.tsig.HMAC_MD5) - no algorithm configured means MD5.
    return ALGORITHMS[key['algorithm']] if key.get('algorithm') else dns.tsig.HMAC_MD5


# --- certbot -------------------------------------------------------------------------------------


def base_domain_name_guesses(domain):
    """certbot.plugins.dns_common.base_domain_name_guesses, verbatim."""
    fragments = domain.split('.')
    return ['.'.join(fragments[i:]) for i in range(0, len(fragments))]


def certbot_query_soa(a, domain_name, tried):
    """_RFC2136Client._query_soa: TCP first, UDP when TCP fails; AA and the SOA in the answer."""
    domain = dns.name.from_text(domain_name)
    request = dns.message.make_query(domain, dns.rdatatype.SOA, dns.rdataclass.IN)
    # Turn off Recursion Desired bit in query
    request.flags ^= dns.flags.RD
    if a.get('sign_query'):
        request.use_tsig(keyring_of(a['key']), algorithm=algorithm_of(a['key']))
    try:
        response = dns.query.tcp(request, a['server'], TIMEOUT, a['port'])
        transport = 'tcp'
    except (OSError, dns.exception.Timeout):
        response = dns.query.udp(request, a['server'], TIMEOUT, a['port'])
        transport = 'udp'
    rcode = response.rcode()
    found = bool(
        rcode == dns.rcode.NOERROR
        and response.get_rrset(response.answer, domain, dns.rdataclass.IN, dns.rdatatype.SOA)
        and response.flags & dns.flags.AA
    )
    tried.append({
        'name': domain_name,
        'transport': transport,
        'rcode': dns.rcode.to_text(rcode),
        'aa': bool(response.flags & dns.flags.AA),
        'rd': bool(response.flags & dns.flags.RD),
        'found': found,
    })
    return found


def certbot_find_domain(a, tried):
    for guess in base_domain_name_guesses(a['record_name']):
        if certbot_query_soa(a, guess, tried):
            return guess
    return None


def certbot(a, add):
    """_RFC2136Client.add_txt_record / del_txt_record: find the zone, then one signed UPDATE."""
    tried = []
    domain = certbot_find_domain(a, tried)
    if domain is None:
        return {'domain': None, 'tried': tried}
    n = dns.name.from_text(a['record_name'])
    o = dns.name.from_text(domain)
    rel = n.relativize(o)
    update = dns.update.Update(domain, keyring=keyring_of(a['key']), keyalgorithm=algorithm_of(a['key']))
    if add:
        update.add(rel, a['ttl'], dns.rdatatype.TXT, a['validation'])
    else:
        update.delete(rel, dns.rdatatype.TXT, a['validation'])
    response = dns.query.tcp(update, a['server'], TIMEOUT, a['port'])
    return {
        'domain': domain,
        'tried': tried,
        'rcode': dns.rcode.to_text(response.rcode()),
        # dnspython verified the reply's TSIG (it raises otherwise); say which key signed it.
        'reply_signed_by': str(response.keyname) if response.had_tsig else None,
    }


# --- external-dns --------------------------------------------------------------------------------


def external_dns_apply(a):
    """
    rfc2136Provider.ApplyChanges for one zone: the Create batch, then UpdateNew (each paired with
    its UpdateOld), then Delete, one message per batch; each RR its own entry in the update
    section, in order, as miekg/dns `Insert`/`Remove` append them.
    """
    zone = dns.name.from_text(a['zone'])
    key = a['key']
    results = []

    def message():
        return dns.update.Update(zone, keyring=keyring_of(key), keyalgorithm=algorithm_of(key), keyname=key['name'])

    def entry(m, ep, target, deleting):
        # miekg/dns NewRR reads names in the target relative to the root (no $ORIGIN).
        # force_unique: a new RRset for each RR, so the section lists them in the order added.
        rd = dns.rdata.from_text(dns.rdataclass.IN, ep['type'], target, origin=dns.name.root, relativize=False)
        rrset = m.find_rrset(
            m.update, dns.name.from_text(ep['name']), dns.rdataclass.IN, rd.rdtype, dns.rdatatype.NONE,
            dns.rdataclass.NONE if deleting else None, True, True)
        # AddRecord: max(minTTL, the endpoint's TTL); RemoveRecord: miekg's Remove sets TTL 0.
        rrset.add(rd, 0 if deleting else max(a['min_ttl'], ep.get('ttl', 0)))

    def insert(m, ep):
        for target in ep['targets']:
            entry(m, ep, target, False)

    def remove(m, ep):
        for target in ep['targets']:
            entry(m, ep, target, True)

    def send(kind, m):
        if len(m.update) == 0:
            return
        response = dns.query.tcp(m, a['server'], TIMEOUT, a['port'])
        results.append({'kind': kind, 'rrs': sum(len(r) for r in m.update), 'rcode': dns.rcode.to_text(response.rcode())})

    changes = a['changes']
    size = a.get('batch_size', 50)
    for start in range(0, len(changes.get('create', [])), size):
        m = message()
        for ep in changes['create'][start:start + size]:
            insert(m, ep)
        send('create', m)
    new, old = changes.get('update_new', []), changes.get('update_old', [])
    for start in range(0, len(new), size):
        m = message()
        for j in range(start, min(start + size, len(new))):
            remove(m, old[j])
            insert(m, new[j])
        send('update', m)
    for start in range(0, len(changes.get('delete', [])), size):
        m = message()
        for ep in changes['delete'][start:start + size]:
            remove(m, ep)
        send('delete', m)
    return {'messages': results}


def xfr(a):
    """
    rfc2136Provider.List: a signed AXFR; every record of every message (SOA included), in order.
    With `serial`, an IXFR from that serial instead (RFC 1995), as a secondary asks.
    """
    key = a['key']
    records = []
    messages = 0
    ixfr = 'serial' in a
    for response in dns.query.xfr(
        a['server'], a['zone'], port=a['port'], keyring=keyring_of(key), keyname=key['name'],
        keyalgorithm=algorithm_of(key), relativize=False, timeout=TIMEOUT, lifetime=TIMEOUT * 3,
        rdtype=dns.rdatatype.IXFR if ixfr else dns.rdatatype.AXFR, serial=a.get('serial', 0),
    ):
        messages += 1
        if not response.had_tsig:
            raise SystemExit('an AXFR message without TSIG')
        for rrset in response.answer:
            for rd in rrset:
                records.append({
                    'name': rrset.name.to_text(),
                    'type': dns.rdatatype.to_text(rrset.rdtype),
                    'ttl': rrset.ttl,
                    'data': rd.to_text(),
                })
    return {'messages': messages, 'records': records}


COMMANDS = {
    'certbot-add': lambda a: certbot(a, True),
    'certbot-del': lambda a: certbot(a, False),
    'external-dns-apply': external_dns_apply,
    'xfr': xfr,
}

if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[1] not in COMMANDS:
        raise SystemExit(f'usage: {sys.argv[0]} {"|".join(COMMANDS)} JSON')
    print(json.dumps(COMMANDS[sys.argv[1]](json.loads(sys.argv[2]))))
