// multipart/form-data as a stream with a known length, so an upload can report the bytes it has sent
// (fetch has no upload progress event) and still send Content-Length.

export interface FilePart {
  field: string;
  blob: Blob;
  filename: string;
}

export interface StreamedForm {
  body: ReadableStream<Uint8Array>;
  contentType: string;
  length: number;
}

export type UploadProgress = (sentBytes: number, totalBytes: number) => void;

const encoder = new TextEncoder();

// The multipart/form-data encoding browsers use for names: escape quotes and line breaks.
const quoted = (name: string) => `"${name.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}"`;

export function streamedForm(fields: [string, string][], files: FilePart[], onProgress?: UploadProgress): StreamedForm {
  const boundary = `----docconv${crypto.randomUUID().replace(/-/g, "")}`;
  const parts: (Uint8Array | Blob)[] = [];
  for (const [name, value] of fields) {
    parts.push(
      encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}\r\n\r\n${value}\r\n`),
    );
  }
  for (const file of files) {
    const type = file.blob.type || "application/octet-stream";
    parts.push(
      encoder.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(file.field)}; filename=${quoted(file.filename)}\r\nContent-Type: ${type}\r\n\r\n`,
      ),
    );
    parts.push(file.blob, encoder.encode("\r\n"));
  }
  parts.push(encoder.encode(`--${boundary}--\r\n`));
  const length = parts.reduce((n, p) => n + (p instanceof Uint8Array ? p.byteLength : p.size), 0);

  let sent = 0;
  let index = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (reader) {
          const { done, value } = await reader.read();
          if (!done) return emit(controller, value);
          reader = null;
          continue;
        }
        const part = parts[index++];
        if (part === undefined) return controller.close();
        if (part instanceof Uint8Array) return emit(controller, part);
        reader = (part.stream() as ReadableStream<Uint8Array>).getReader();
      }
    },
    cancel(reason) {
      return reader?.cancel(reason);
    },
  });

  function emit(controller: ReadableStreamDefaultController<Uint8Array>, chunk: Uint8Array) {
    controller.enqueue(chunk);
    sent += chunk.byteLength;
    onProgress?.(sent, length);
  }

  onProgress?.(0, length);
  return { body, contentType: `multipart/form-data; boundary=${boundary}`, length };
}
