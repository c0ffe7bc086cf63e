import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { Store, useStore } from "../lib/store";
import type { CallCenter, CallCenterState } from "./center";

export const CallsContext = createContext<CallCenter | null>(null);

/** The signed-in user's call center (null outside a signed-in page). */
export function useCalls(): CallCenter | null {
  return useContext(CallsContext);
}

const NO_CALLS = new Store<CallCenterState>({ incoming: null, outgoing: null, active: null, escalated: [], version: 0 });

/** The call center's state, re-rendering on change (empty outside a signed-in page). */
export function useCallState(): CallCenterState {
  return useStore(useCalls()?.state ?? NO_CALLS);
}
