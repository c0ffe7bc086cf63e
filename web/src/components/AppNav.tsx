import { useSession } from "../app/context";
import { linkClick, navigate } from "../app/router";

export type NavPage = "home" | "contacts" | "developer";

/** The signed-in pages' links in the top bar: Contacts (with the count of unread direct
 * messages, when given), Developer and Sign out; the page one is on is marked `aria-current`. */
export function AppNav({ current, unread = 0 }: { current: NavPage; unread?: number }) {
  const session = useSession();
  const signOut = async () => {
    await session.signOut();
    navigate("/signin", { replace: true });
  };
  const here = (page: NavPage) => (page === current ? "page" : undefined);
  return (
    <>
      <a href="/contacts" class="button-quiet" aria-current={here("contacts")} onClick={linkClick}>
        Contacts
        {unread > 0 && (
          <span class="badge" data-testid="unread-total" aria-label={`, ${unread} unread messages`}>
            {unread}
          </span>
        )}
      </a>
      <a href="/developer" class="button-quiet" aria-current={here("developer")} onClick={linkClick}>
        Developer
      </a>
      <button type="button" class="button-quiet" onClick={() => void signOut()}>
        Sign out
      </button>
    </>
  );
}
