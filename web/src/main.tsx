import { render } from "preact";
import { App } from "./app/App";
import { Session } from "./app/session";
import "./styles.css";

const session = new Session();
void session.restore();
render(<App session={session} />, document.getElementById("app")!);
