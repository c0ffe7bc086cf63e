import { useEffect, useState } from "preact/hooks";
import { copyText } from "../lib/clipboard";
import { Icon } from "./Icon";

/** "Copy invite link", with a short-lived "Copied" status next to it. */
export function CopyLinkButton({ url, label = "Copy invite link", describedBy }: { url: string; label?: string; describedBy?: string }) {
  const [status, setStatus] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (status === "idle") return;
    const timer = setTimeout(() => setStatus("idle"), 2500);
    return () => clearTimeout(timer);
  }, [status]);
  return (
    <span class="copy-link">
      <button type="button" class="button-secondary" aria-describedby={describedBy} onClick={async () => setStatus((await copyText(url)) ? "copied" : "failed")}>
        <Icon name="copy" size={16} />
        {label}
      </button>
      <span role="status" class="copy-status">
        {status === "copied" ? "Copied" : status === "failed" ? `Copy failed: ${url}` : ""}
      </span>
    </span>
  );
}
