/**
 * Routes the transitions and link changes of grouped vhosts through their SyncGroup (the pure
 * rules, lib/state/group.ts) and delivers what it returns. Used by the daemon and by the
 * simulation alike.
 */
import type { VhostState } from '../control/types.js';
import { SyncGroup, type GroupDelivery } from '../state/group.js';
import type { VirtualHost } from './vhost.js';

export class GroupWiring {
  private readonly groups = new Map<string, SyncGroup<VirtualHost>>();

  /** Puts a vhost in its group (if it names one). Call before the vhost starts. */
  add(vhost: VirtualHost): void {
    const name = vhost.config.group;
    if (name === undefined) return;
    let group = this.groups.get(name);
    if (group === undefined) {
      group = new SyncGroup(name);
      this.groups.set(name, group);
    }
    group.add(vhost);
  }

  remove(vhost: VirtualHost): void {
    const group = this.groupOf(vhost);
    if (group === undefined) return;
    this.deliver(group.remove(vhost));
    if (group.size === 0) this.groups.delete(group.name);
  }

  /** Whether the vhost starts held (another member's link is down). */
  isHeld(vhost: VirtualHost): boolean {
    return this.groupOf(vhost)?.isHeld(vhost) ?? false;
  }

  onOwnTransition = (vhost: VirtualHost, from: VhostState, to: VhostState, reason: string): void => {
    const group = this.groupOf(vhost);
    if (group !== undefined) this.deliver(group.onTransition(vhost, from, to, reason));
  };

  onAbilityChange = (vhost: VirtualHost, able: boolean): void => {
    const group = this.groupOf(vhost);
    if (group !== undefined) this.deliver(group.onAbility(vhost, able));
  };

  private groupOf(vhost: VirtualHost): SyncGroup<VirtualHost> | undefined {
    const name = vhost.config.group;
    return name === undefined ? undefined : this.groups.get(name);
  }

  private deliver(deliveries: readonly GroupDelivery<VirtualHost>[]): void {
    for (const { member, event } of deliveries) member.dispatch(event);
  }
}
