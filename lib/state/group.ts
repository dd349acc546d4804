/**
 * Sync groups (`group = NAME`, keepalived's vrrp_sync_group): vhosts that change state together,
 * so that the inside and outside address of a router, say, always live on one node.
 *
 * The rules, pure and in one place:
 *  - a member that becomes MASTER by its own election pulls every other member to MASTER
 *    (`groupMaster`) at once, instead of each waiting for its own master-down interval;
 *  - a member that goes BACKUP by its own election (it heard a preferred master), by a step-down
 *    or because it could not add its VIP, pushes every other member to BACKUP (`groupBackup`);
 *  - a member whose link is down cannot hold its VIPs, so while it is down the other members are
 *    held (`groupHold`): BACKUP and not contending, as keepalived's group goes to FAULT. When it
 *    returns they are released and listen for a master as after a start.
 * Transitions that a group event itself caused are not passed on again, so one change moves
 * the group once and cannot echo.
 *
 * With the same advbase and advskew on every member (the CLI insists on it), the node preferred
 * for one member is preferred for all, so the group settles on one node. If the peer node does
 * not group the same vhosts, the group can be pulled back and forth at the master-down rate:
 * say so in the docs, as keepalived's do.
 */
import type { CarpState, MachineEvent } from './machine.js';

export interface GroupDelivery<M> {
  readonly member: M;
  readonly event: MachineEvent;
}

export class SyncGroup<M extends { readonly name: string }> {
  private readonly members: M[] = [];
  /** Members whose link is down. */
  private readonly unable = new Set<M>();

  constructor(readonly name: string) {}

  add(member: M): void {
    if (!this.members.includes(member)) this.members.push(member);
  }

  remove(member: M): GroupDelivery<M>[] {
    const index = this.members.indexOf(member);
    if (index >= 0) this.members.splice(index, 1);
    // A member that leaves (reload) no longer holds the others back.
    return this.unable.delete(member) ? this.holdChanged(`group ${this.name}: ${member.name} left`) : [];
  }

  get size(): number {
    return this.members.length;
  }

  /** A member changed state on its own (not because of a group event). */
  onTransition(member: M, from: CarpState, to: CarpState, reason: string): GroupDelivery<M>[] {
    if (from === to) return [];
    if (to === 'MASTER') {
      return this.others(member, { type: 'groupMaster', reason: `group ${this.name}: ${member.name} became MASTER (${reason})` });
    }
    if (to === 'BACKUP' && from === 'MASTER') {
      return this.others(member, { type: 'groupBackup', reason: `group ${this.name}: ${member.name} went BACKUP (${reason})` });
    }
    return [];
  }

  /** A member's ability to hold its VIPs changed (its link went down or came back). */
  onAbility(member: M, able: boolean): GroupDelivery<M>[] {
    if (able ? !this.unable.delete(member) : this.unable.has(member)) return [];
    if (!able) this.unable.add(member);
    return this.holdChanged(`group ${this.name}: ${member.name} link ${able ? 'up' : 'down'}`);
  }

  /** Whether a member is held back: another member cannot hold its VIPs. */
  isHeld(member: M): boolean {
    for (const other of this.unable) if (other !== member) return true;
    return false;
  }

  /** Tells every member whether it is held now; machines ignore an unchanged hold. */
  private holdChanged(reason: string): GroupDelivery<M>[] {
    return this.members.map((m) => ({ member: m, event: { type: 'groupHold', held: this.isHeld(m), reason } as const }));
  }

  private others(member: M, event: MachineEvent): GroupDelivery<M>[] {
    return this.members.filter((m) => m !== member).map((m) => ({ member: m, event }));
  }
}
