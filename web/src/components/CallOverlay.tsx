import { useEffect, useRef, useState } from "preact/hooks";
import type { CallCenter, CallView, Outcome } from "../calls/center";
import { Ringtone } from "../calls/ringtone";
import { linkClick, useLocation } from "../app/router";
import { useStore } from "../lib/store";

const OUTCOMES: Record<Outcome, string> = {
  declined: "declined the call.",
  missed: "did not answer.",
  busy: "is busy in another call.",
  "caller-busy": "cannot be called: you are in another call. Hang up first.",
  "not-a-contact": "is not one of your contacts.",
  failed: "could not be called. Please try again.",
};

/**
 * The call screens of every signed-in page: an incoming call (Accept / Decline, with a
 * ringtone), the outgoing "Calling…" screen (Cancel; then declined, no answer or busy), and a
 * bar back to an accepted call from outside its room.
 */
export function CallOverlay({ center }: { center: CallCenter }) {
  const { incoming, outgoing, active } = useStore(center.state);
  const { path } = useLocation();
  const [sounding, setSounding] = useState(false);
  const ringtone = useRef<Ringtone | null>(null);
  const acceptRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!incoming) return;
    const tone = new Ringtone();
    ringtone.current = tone;
    void tone.start().then(setSounding);
    acceptRef.current?.focus();
    return () => {
      tone.stop();
      setSounding(false);
    };
  }, [incoming?.call_id]);

  if (incoming) {
    return (
      <div class="call-overlay" role="alertdialog" aria-modal="true" aria-labelledby="call-title" data-testid="incoming-call" data-ringtone={sounding ? "playing" : "silent"}>
        <div class="call-card">
          <p class="call-kind">Incoming call</p>
          <h2 id="call-title" class="call-name">
            {incoming.caller_name}
          </h2>
          <p class="call-note">is calling you</p>
          <div class="call-actions">
            <button ref={acceptRef} type="button" class="button-primary call-accept" onClick={() => void center.accept()}>
              Accept
            </button>
            <button type="button" class="button-danger-solid" onClick={() => void center.decline()}>
              Decline
            </button>
          </div>
        </div>
      </div>
    );
  }
  if (outgoing) {
    return (
      <div class="call-overlay" role="dialog" aria-modal="true" aria-labelledby="call-title" data-testid="outgoing-call" data-outcome={outgoing.outcome ?? "ringing"}>
        <div class="call-card">
          <p class="call-kind">{outgoing.outcome ? "Call ended" : "Calling…"}</p>
          <h2 id="call-title" class="call-name">
            {outgoing.name}
          </h2>
          {outgoing.outcome ? (
            <p class="call-note" role="status">
              {outgoing.name || "Your contact"} {OUTCOMES[outgoing.outcome]}
            </p>
          ) : (
            <p class="call-note" aria-live="polite">
              Ringing…
            </p>
          )}
          <div class="call-actions">
            {outgoing.outcome ? (
              <button type="button" class="button-secondary" onClick={() => center.dismiss()}>
                Close
              </button>
            ) : (
              <button type="button" class="button-danger-solid" onClick={() => void center.cancel()}>
                Cancel
              </button>
            )}
          </div>
        </div>
      </div>
    );
  }
  if (active && path !== `/m/${active.room_id}`) return <CallBar center={center} active={active} />;
  return null;
}

/**
 * The bar back to an accepted call, fixed at the bottom of every other page. While it is shown,
 * the room it takes there (the distance from its top to the screen's edge, which its callee's
 * name and the screen's width change) is `--call-bar-space` on the page's root, for what must
 * stay clear of it: the end of the page, and the phone pre-join's sticky Join bar, which then
 * rests on it with no gap for the form to show through (styles.css).
 */
function CallBar({ center, active }: { center: CallCenter; active: CallView }) {
  const bar = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = bar.current;
    if (!element) return;
    const root = document.documentElement;
    const measure = () => {
      const space = Math.ceil(window.innerHeight - element.getBoundingClientRect().top);
      root.style.setProperty("--call-bar-space", `${space}px`);
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    window.addEventListener("resize", measure);
    return () => {
      observer.disconnect();
      window.removeEventListener("resize", measure);
      root.style.removeProperty("--call-bar-space");
    };
  }, []);

  return (
    <>
      <div class="call-bar-space" aria-hidden="true" />
      <div ref={bar} class="call-bar" role="region" aria-label="Call in progress" data-testid="active-call">
        <span>Call with {center.partnerName(active)} in progress</span>
        <a class="button-primary" href={`/m/${active.room_id}`} onClick={linkClick}>
          Return to the call
        </a>
        <button type="button" class="button-secondary" onClick={() => void center.hangUp(active.call_id)}>
          Hang up
        </button>
      </div>
    </>
  );
}
