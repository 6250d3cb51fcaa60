/** Q.850 cause codes as the names receivers know from Kazoo/FreeSWITCH. */
const Q850: Record<number, string> = {
  1: 'UNALLOCATED_NUMBER',
  2: 'NO_ROUTE_TRANSIT_NET',
  3: 'NO_ROUTE_DESTINATION',
  6: 'CHANNEL_UNACCEPTABLE',
  7: 'CALL_AWARDED_DELIVERED',
  16: 'NORMAL_CLEARING',
  17: 'USER_BUSY',
  18: 'NO_USER_RESPONSE',
  19: 'NO_ANSWER',
  20: 'SUBSCRIBER_ABSENT',
  21: 'CALL_REJECTED',
  22: 'NUMBER_CHANGED',
  23: 'REDIRECTION_TO_NEW_DESTINATION',
  26: 'ANSWERED_ELSEWHERE',
  27: 'DESTINATION_OUT_OF_ORDER',
  28: 'INVALID_NUMBER_FORMAT',
  29: 'FACILITY_REJECTED',
  30: 'RESPONSE_TO_STATUS_ENQUIRY',
  31: 'NORMAL_UNSPECIFIED',
  34: 'NORMAL_CIRCUIT_CONGESTION',
  38: 'NETWORK_OUT_OF_ORDER',
  41: 'NORMAL_TEMPORARY_FAILURE',
  42: 'SWITCH_CONGESTION',
  43: 'ACCESS_INFO_DISCARDED',
  44: 'REQUESTED_CHAN_UNAVAIL',
  50: 'FACILITY_NOT_SUBSCRIBED',
  52: 'OUTGOING_CALL_BARRED',
  54: 'INCOMING_CALL_BARRED',
  57: 'BEARERCAPABILITY_NOTAUTH',
  58: 'BEARERCAPABILITY_NOTAVAIL',
  65: 'BEARERCAPABILITY_NOTIMPL',
  66: 'CHAN_NOT_IMPLEMENTED',
  69: 'FACILITY_NOT_IMPLEMENTED',
  81: 'INVALID_CALL_REFERENCE',
  88: 'INCOMPATIBLE_DESTINATION',
  95: 'INVALID_MSG_UNSPECIFIED',
  96: 'MANDATORY_IE_MISSING',
  97: 'MESSAGE_TYPE_NONEXIST',
  98: 'WRONG_MESSAGE',
  99: 'IE_NONEXIST',
  100: 'INVALID_IE_CONTENTS',
  101: 'WRONG_CALL_STATE',
  102: 'RECOVERY_ON_TIMER_EXPIRE',
  103: 'MANDATORY_IE_LENGTH_ERROR',
  111: 'PROTOCOL_ERROR',
  127: 'INTERWORKING',
};

/** Dial's DIALSTATUS → the cause a leg ended with, when Asterisk reports cause 0. */
const DIAL_STATUS: Record<string, string> = {
  ANSWER: 'NORMAL_CLEARING',
  BUSY: 'USER_BUSY',
  NOANSWER: 'NO_ANSWER',
  CANCEL: 'ORIGINATOR_CANCEL',
  CONGESTION: 'NORMAL_CIRCUIT_CONGESTION',
  CHANUNAVAIL: 'REQUESTED_CHAN_UNAVAIL',
};

export interface HangupFacts {
  /** ChannelDestroyed.cause */
  destroyedCause: number | undefined;
  /** last non-zero ChannelHangupRequest.cause */
  requestCause: number | undefined;
  /** SIP status Asterisk reported (tech_cause) */
  techCause: number | undefined;
  /** last final DIALSTATUS seen for the leg */
  dialStatus: string | undefined;
  answered: boolean;
  inbound: boolean;
}

export interface Hangup {
  cause: string;
  code: string | undefined;
}

export function causeName(code: number): string {
  return Q850[code] ?? `CAUSE_${code}`;
}

/** the SIP answer a dialed leg got for a Dial status, when it is certain */
const DIAL_CODE: Record<string, string> = { BUSY: 'sip:486', CANCEL: 'sip:487' };

/**
 * What ended a leg, from what Asterisk 22 really reports (see test/fixtures):
 * - a caller's CANCEL: cause 127 with tech_cause 487 → ORIGINATOR_CANCEL;
 * - a ring-group leg that lost: cause 26 → ANSWERED_ELSEWHERE;
 * - a leg that was never answered and whose Dial ended BUSY/NOANSWER/CANCEL/…: the Dial status
 *   says it best (ChannelDestroyed gives 0, 16, or 127/500 for a cancelled callee);
 * - else ChannelDestroyed's cause, or the last ChannelHangupRequest's when that is 0;
 * - else NORMAL_CLEARING for an answered leg.
 */
export function resolveHangup(f: HangupFacts): Hangup {
  const q850 = f.destroyedCause || f.requestCause;
  if (f.techCause === 487) return { cause: 'ORIGINATOR_CANCEL', code: 'sip:487' };
  if (q850 === 26) return { cause: 'ANSWERED_ELSEWHERE', code: undefined };
  const fromDial = f.dialStatus ? DIAL_STATUS[f.dialStatus] : undefined;
  if (!f.answered && fromDial && f.dialStatus !== 'ANSWER') {
    return { cause: fromDial, code: DIAL_CODE[f.dialStatus!] };
  }
  const code = f.techCause ? `sip:${f.techCause}` : undefined;
  if (q850) return { cause: causeName(q850), code };
  if (fromDial) return { cause: fromDial, code };
  if (f.answered) return { cause: 'NORMAL_CLEARING', code };
  return { cause: f.inbound ? 'ORIGINATOR_CANCEL' : 'NO_ANSWER', code };
}
