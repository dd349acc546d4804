/**
 * syslog facilities: the names --facility accepts and the codes the syslog priority is built
 * from, one table for both. Names as glibc's facilitynames table spells them; "security" is
 * glibc's old name for auth. ("mark" is in that table too, but it is syslogd's internal
 * timestamp facility, not one to log under.) "none" is carpd's (and ucarp's) word for no syslog.
 */
export const FACILITY_CODES: Readonly<Record<string, number>> = Object.freeze({
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21,
  local6: 22, local7: 23,
});

/** Other spellings → canonical name. */
export const FACILITY_ALIASES: Readonly<Record<string, string>> = Object.freeze({ security: 'auth' });

export const NO_SYSLOG = 'none';
