/**
 * Adding a contact by scanning the QR code of her address with the camera, where the browser
 * offers one: `qr/dom.js` (the same author's camera helpers and decoder) opens the rear camera
 * into a <video>, and each new frame is decoded until one holds a satpost address. Without a
 * camera, or with the camera refused, the form says so in a sentence; pasting still works.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { QRCanvas, frameLoop, rearCamera, type QRCamera } from 'qr/dom.js';

type CameraState =
  | { kind: 'idle' }
  | { kind: 'starting' }
  | { kind: 'scanning'; wrong: boolean }
  | { kind: 'scanned' }
  | { kind: 'unavailable'; why: 'unsupported' | 'denied' | 'missing' };

const WHY: Record<'unsupported' | 'denied' | 'missing', string> = {
  unsupported: 'This browser offers no camera to this page. Paste the address instead.',
  denied: 'The camera was not allowed. Allow it for this page in the browser\'s site settings to scan, or paste the address instead.',
  missing: 'No camera was found (or another program is using it). Paste the address instead.',
};

/** What a getUserMedia failure means for the user (DOMException names, the API's own classification). */
function cameraProblem(err: unknown): 'denied' | 'missing' {
  const name = (err as { name?: unknown })?.name;
  return name === 'NotAllowedError' || name === 'SecurityError' ? 'denied' : 'missing';
}

/** A satpost address as a QR code holds it (the app's own QR encodes the address alone). */
function addressIn(text: string): string | undefined {
  const t = text.trim();
  return /^satpost1[0-9a-z]+$/i.test(t) ? t.toLowerCase() : undefined;
}

export function ScanAddress({ found }: { found: (address: string) => void }) {
  const [state, setState] = useState<CameraState>({ kind: 'idle' });
  const video = useRef<HTMLVideoElement>(null);
  const stopRef = useRef<() => void>(() => undefined);
  useEffect(() => () => stopRef.current(), []);
  const supported = typeof navigator !== 'undefined' && typeof navigator.mediaDevices?.getUserMedia === 'function';

  const start = async () => {
    if (!supported) return setState({ kind: 'unavailable', why: 'unsupported' });
    setState({ kind: 'starting' });
    let camera: QRCamera;
    try {
      camera = await rearCamera(video.current!);
    } catch (err) {
      return setState({ kind: 'unavailable', why: cameraProblem(err) });
    }
    const canvas = new QRCanvas();
    let reading = false;
    let done = false;
    const stop = () => {
      done = true;
      cancel();
      camera.stop();
    };
    stopRef.current = stop;
    setState({ kind: 'scanning', wrong: false });
    // One decode at a time: a frame that arrives while one is being read is skipped, not queued.
    const cancel = frameLoop(() => {
      if (reading || done) return;
      reading = true;
      // The camera's own pixels, not the small preview box: a phone-width view would shrink a dense code below what decodes.
      camera.readFrame(canvas, true).then(
        (decoded) => {
          reading = false;
          if (done || typeof decoded !== 'string') return;
          const address = addressIn(decoded);
          if (address === undefined) return setState({ kind: 'scanning', wrong: true });
          stop();
          found(address);
          setState({ kind: 'scanned' });
        },
        () => {
          reading = false;
        },
      );
    }, video.current!);
  };

  const scanning = state.kind === 'scanning' || state.kind === 'starting';
  return (
    <div class="scan" data-testid="scan" data-camera={state.kind === 'unavailable' ? state.why : state.kind}>
      {supported ? (
        <div class="row">
          {!scanning && <button type="button" onClick={() => void start()}>Scan a QR code</button>}
          {scanning && <button type="button" onClick={() => { stopRef.current(); setState({ kind: 'idle' }); }}>Stop the camera</button>}
        </div>
      ) : <p class="hint">{WHY.unsupported}</p>}
      <video ref={video} class={scanning ? 'camera' : 'camera hidden'} muted playsInline aria-label="Camera view for scanning a QR code" />
      <div aria-live="polite">
        {state.kind === 'starting' && <p role="status">Opening the camera…</p>}
        {state.kind === 'scanning' && <p role="status">{state.wrong ? 'That QR code is not a satpost address. Point the camera at your contact\'s address code.' : 'Point the camera at the QR code of your contact\'s address…'}</p>}
        {state.kind === 'scanned' && <p role="status">Address read from the QR code. Check the name, then add the contact.</p>}
        {state.kind === 'unavailable' && <p class="error" role="alert">{WHY[state.why]}</p>}
      </div>
    </div>
  );
}
