// The state a drift probe reports for one AWS resource: a canonical JSON structure, so that the same resource
// always digests the same however AWS happens to present it. Security group rules are sets, not lists: AWS (and
// moto) return them in whatever order they were added and may group one rule set into permissions differently,
// so rules are merged by (protocol, ports) and every list is sorted and de-duplicated. Tags become a map.
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type { Instance, IpPermission, SecurityGroup, Tag } from '@aws-sdk/client-ec2';
import { canonicalJson } from '../../certs/sab/signing-input.ts';
import type { JsonValue } from '../../certs/sab/types.ts';

type JsonObject = { [key: string]: JsonValue };

/** The object without its undefined members (JSON has no undefined; an absent field is simply not there). */
function defined(fields: Record<string, JsonValue | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

function canonical(value: JsonValue): string {
  const text = canonicalJson(value);
  return text.ok ? text.value : String(value); // API responses are always JSON-representable
}

/** Sorted by canonical JSON, duplicates removed: the order a list came in says nothing about the resource. */
function sortedSet(items: readonly JsonValue[]): JsonValue[] {
  const byKey = new Map<string, JsonValue>();
  for (const item of items) byKey.set(canonical(item), item);
  return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
}

export function tagMap(tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined): JsonObject {
  const out: JsonObject = {};
  for (const t of [...(tags ?? [])].sort((a, b) => ((a.Key ?? '') < (b.Key ?? '') ? -1 : 1))) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** IP protocol numbers AWS also accepts for the named protocols it reports. */
const PROTOCOL_NAMES: Readonly<Record<string, string>> = { '1': 'icmp', '6': 'tcp', '17': 'udp', '58': 'icmpv6' };

function protocolOf(p: string | undefined): string {
  const lower = (p ?? '-1').toLowerCase();
  return PROTOCOL_NAMES[lower] ?? lower;
}

/** Rules merged by (protocol, from, to); each source list sorted. "-1" (all traffic) has no ports. */
export function permissionsState(perms: readonly IpPermission[] | undefined): JsonValue[] {
  const groups = new Map<string, { head: JsonObject; ipv4: JsonValue[]; ipv6: JsonValue[]; prefixLists: JsonValue[]; groups: JsonValue[] }>();
  for (const p of perms ?? []) {
    const protocol = protocolOf(p.IpProtocol);
    const head = protocol === '-1' ? { IpProtocol: protocol } : defined({ IpProtocol: protocol, FromPort: p.FromPort, ToPort: p.ToPort });
    const key = canonical(head);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { head, ipv4: [], ipv6: [], prefixLists: [], groups: [] }));
    for (const r of p.IpRanges ?? []) g.ipv4.push(defined({ CidrIp: r.CidrIp, Description: r.Description }));
    for (const r of p.Ipv6Ranges ?? []) g.ipv6.push(defined({ CidrIpv6: r.CidrIpv6, Description: r.Description }));
    for (const r of p.PrefixListIds ?? []) g.prefixLists.push(defined({ PrefixListId: r.PrefixListId, Description: r.Description }));
    // GroupName and PeeringStatus are presentation and peering state, not part of the rule.
    for (const r of p.UserIdGroupPairs ?? []) g.groups.push(defined({ GroupId: r.GroupId, UserId: r.UserId, VpcId: r.VpcId, VpcPeeringConnectionId: r.VpcPeeringConnectionId, Description: r.Description }));
  }
  const rules: JsonValue[] = [];
  for (const g of groups.values()) {
    if (g.ipv4.length + g.ipv6.length + g.prefixLists.length + g.groups.length === 0) continue; // a rule with no source allows nothing
    rules.push({ ...g.head, IpRanges: sortedSet(g.ipv4), Ipv6Ranges: sortedSet(g.ipv6), PrefixListIds: sortedSet(g.prefixLists), UserIdGroupPairs: sortedSet(g.groups) });
  }
  return sortedSet(rules);
}

export function securityGroupState(g: SecurityGroup): JsonValue {
  return defined({
    GroupId: g.GroupId, GroupName: g.GroupName, Description: g.Description, VpcId: g.VpcId, OwnerId: g.OwnerId,
    Tags: tagMap(g.Tags),
    IpPermissions: permissionsState(g.IpPermissions),
    IpPermissionsEgress: permissionsState(g.IpPermissionsEgress),
  });
}

export function instanceState(i: Instance): JsonValue {
  return defined({ InstanceId: i.InstanceId, State: i.State?.Name, InstanceType: i.InstanceType, Tags: tagMap(i.Tags as Tag[] | undefined) });
}

export function autoScalingGroupState(g: AutoScalingGroup): JsonValue {
  return defined({ AutoScalingGroupName: g.AutoScalingGroupName, MinSize: g.MinSize, MaxSize: g.MaxSize, DesiredCapacity: g.DesiredCapacity, Tags: tagMap(g.Tags) });
}
