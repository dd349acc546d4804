/**
 * The --help text, laid out like ucarp's so operators find the same lines in the same order:
 * `--interface=<if> (-i <if>): bind interface <if>`, then carpd's additions, then an example.
 * Built from the option table, so a new option cannot be left out.
 */
import { OPTIONS, takesValue, type OptionSpec } from './options.js';

function helpLine(option: OptionSpec): string {
  const value = takesValue(option) ? `=<${option.placeholder}>` : '';
  const shortValue = takesValue(option) ? ` <${option.placeholder}>` : '';
  const others = [
    ...(option.short !== undefined ? [`-${option.short}${shortValue}`] : []),
    ...(option.aliases ?? []).map((alias) => `--${alias}${value}`),
  ];
  const spellings =
    option.negatable === true
      ? `--${option.name}, --no-${option.name}${others.length > 0 ? ` (${others.join(', ')})` : ''}`
      : `--${option.name}${value}${others.length > 0 ? ` (${others.join(', ')})` : ''}`;
  return `${spellings}: ${option.description}`;
}

export function helpText(version: string): string {
  return [
    '',
    `carpd ${version} - CARP failover daemon, command-line compatible with ucarp 1.5.2`,
    '',
    ...OPTIONS.map(helpLine),
    '',
    'Long options may be abbreviated to any unique prefix (--inter=eth0).',
    '',
    'Example: two hosts, 10.1.1.1 and 10.1.1.2, share 10.1.1.252 on eth0 as vhid 1.',
    'On the first (run the same on the second with --srcip=10.1.1.2):',
    '',
    'carpd --interface=eth0 --srcip=10.1.1.1 --vhid=1 --pass=mypassword \\',
    '      --addr=10.1.1.252/24 \\',
    '      --upscript=/etc/vip-up.sh --downscript=/etc/vip-down.sh',
    '',
    'carpd adds and removes 10.1.1.252/24 on eth0 itself; the scripts are for anything',
    'else that must follow the address. With --no-manage-vip the scripts own the address,',
    'exactly as with ucarp.',
    '',
  ].join('\n');
}
