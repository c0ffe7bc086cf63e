import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { CallCenter } from "./center";

export const CallsContext = createContext<CallCenter | null>(null);

/** The signed-in user's call center (null outside a signed-in page). */
export function useCalls(): CallCenter | null {
  return useContext(CallsContext);
}
