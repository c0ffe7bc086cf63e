import { useEffect, useMemo, useState } from "preact/hooks";
import type { Api, Contact } from "../api";
import { STALE, latestOnly } from "../lib/latest";
import type { SignalingClient } from "../signaling/client";

/**
 * The contact invitations that wait for this user's answer, read from auth's contact list when
 * the page opens, after every `contacts-changed` of the user socket (someone invited this user,
 * or an invitation was answered elsewhere) and after every (re)connection, which may have
 * missed one (docs/signaling.md, "Presence"). Only the latest read's answer is taken.
 */
export function useIncomingInvitations(api: Api, socket: SignalingClient | null): Contact[] {
  const [incoming, setIncoming] = useState<Contact[]>([]);
  const latest = useMemo(latestOnly, []);

  const load = async () => {
    try {
      const list = await latest(() => api.contacts.list());
      if (list !== STALE) setIncoming(list.incoming);
    } catch {
      // kept as it was; the next change or reconnection reads it again
    }
  };

  useEffect(() => {
    void load();
  }, []);

  useEffect(() => {
    if (!socket) return;
    const offChanged = socket.on("contacts-changed", () => void load());
    const offSession = socket.onSession(() => void load());
    return () => {
      offChanged();
      offSession();
    };
  }, [socket]);

  return incoming;
}

/** "Ada invited you to be contacts." / "Ada and Grace invited you…" / "Ada and 2 others invited you…" */
export function describeInvitations(incoming: Contact[]): string {
  const names = incoming.map((c) => c.user.display_name);
  const who =
    names.length === 1 ? names[0] : names.length === 2 ? `${names[0]} and ${names[1]}` : `${names[0]} and ${names.length - 1} others`;
  return `${who} invited you to be contacts.`;
}
