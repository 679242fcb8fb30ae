import type { Command } from 'commander';
import { OnlineState } from '../../src/proto/index.js';
import { parseAddressList, withMds } from '../mds-client.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('cluster status: MDS leader, metaservers, copysets, file systems, mounts')
    .option('--mds <addrs>', 'MDS addresses (comma-separated)', '127.0.0.1:6700')
    .option('--json', 'machine-readable output (the leader address at mds.leader)')
    .action(async (options: { mds: string; json?: boolean }) => {
      const report = await withMds(parseAddressList(options.mds), async (mds) => {
        const cluster = await mds.call('ClusterStatus', {});
        const topology = await mds.call('ListTopology', {});
        const fsList = await mds.call('ListFs', {});
        const leader = cluster.mds.find((m) => m.isLeader)?.address ?? mds.leaderAddress();
        return {
          healthy: cluster.isHealthy,
          mds: { leader, members: cluster.mds },
          metaservers: topology.metaservers.map((m) => ({
            id: m.metaserverId,
            address: `${m.internalIp}:${m.internalPort}`,
            zone: topology.zones.find((z) => z.zoneId === m.zoneId)?.name ?? String(m.zoneId),
            state: m.state === OnlineState.ONLINE ? 'online' : m.state === OnlineState.OFFLINE ? 'offline' : 'unknown',
            copysets: m.copysetCount,
            leaders: m.leaderCount,
          })),
          copysets: topology.copysets.map((c) => ({
            pool: c.poolId,
            id: c.copysetId,
            epoch: c.epoch,
            leader: c.leader?.address ?? '',
            peers: c.peers.map((p) => p.address),
            partitions: c.partitions.length,
            healthy: c.leader !== null && c.peers.length >= 3,
          })),
          fileSystems: fsList.fsInfos.map((f) => ({
            name: f.fsName,
            id: f.fsId,
            mounts: f.mountpoints.map((m) => `${m.hostname}:${m.path}`),
          })),
        };
      });
      if (options.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return;
      }
      const lines = [
        `cluster: ${report.healthy ? 'healthy' : 'UNHEALTHY'}`,
        `mds leader: ${report.mds.leader}`,
        ...report.mds.members.map((m) => `  mds ${m.address}${m.isLeader ? ' (leader)' : ''}${m.isHealthy ? '' : ' unhealthy'}`),
        `metaservers: ${report.metaservers.length}`,
        ...report.metaservers.map((m) => `  #${m.id} ${m.address} zone ${m.zone} ${m.state}, ${m.copysets} copysets, ${m.leaders} leaders`),
        `copysets: ${report.copysets.length} (${report.copysets.filter((c) => !c.healthy).length} unhealthy)`,
        ...report.copysets.map((c) => `  ${c.pool}/${c.id} epoch ${c.epoch} leader ${c.leader || 'none'} peers ${c.peers.join(',')}`),
        `file systems: ${report.fileSystems.length}`,
        ...report.fileSystems.map((f) => `  ${f.name} (id ${f.id}) mounts: ${f.mounts.join(', ') || 'none'}`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
