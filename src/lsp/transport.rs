//! JSON-RPC over stdio with `Content-Length` framing, forgiving of bad input: a malformed header
//! or a body that is not a JSON-RPC message is reported on stderr and skipped, and the next
//! message is read. (lsp-server's own stdio transport stops reading at the first bad message.)

use std::io::{BufRead, Write};

use crossbeam_channel::{Receiver, Sender, unbounded};
use lsp_server::Message;

/// The largest message body read; a larger `Content-Length` is refused and its body skipped.
const MAX_BODY: usize = 256 << 20;

/// What one read from the stream gave.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A message.
    Message(Message),
    /// Something that is not a message, and why; reading goes on.
    Bad(String),
    /// The stream ended.
    End,
}

/// Reads one framed message from `input`.
pub(crate) fn read_frame<R: BufRead>(input: &mut R) -> std::io::Result<Frame> {
    let mut length: Option<usize> = None;
    let mut bad_header: Option<String> = None;
    let mut line = String::new();
    let mut any = false;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(if any {
                Frame::Bad("the stream ended inside a header".into())
            } else {
                Frame::End
            });
        }
        any = true;
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        match trimmed.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(n) => length = Some(n),
                    Err(_) => bad_header = Some(format!("bad Content-Length `{}`", value.trim())),
                }
            }
            Some(_) => {}
            None => bad_header = Some(format!("malformed header line `{trimmed}`")),
        }
    }
    let length = match (length, bad_header) {
        (_, Some(why)) => return Ok(Frame::Bad(why)),
        (None, None) => return Ok(Frame::Bad("a message without Content-Length".into())),
        (Some(n), None) if n > MAX_BODY => {
            std::io::copy(
                &mut std::io::Read::take(&mut *input, n as u64),
                &mut std::io::sink(),
            )?;
            return Ok(Frame::Bad(format!("a message of {n} bytes is too large")));
        }
        (Some(n), None) => n,
    };
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    Ok(match serde_json::from_slice::<Message>(&body) {
        Ok(message) => Frame::Message(message),
        Err(e) => Frame::Bad(format!("not a JSON-RPC message: {e}")),
    })
}

/// Writes one framed message.
pub(crate) fn write_message(out: &mut impl Write, message: &Message) -> std::io::Result<()> {
    message.write(out)
}

/// Starts the reader and writer threads on stdin and stdout: the messages read, and where to
/// send the messages to write.
pub(crate) fn stdio() -> (Receiver<Message>, Sender<Message>) {
    let (to_server, from_client) = unbounded::<Message>();
    let (to_client, outgoing) = unbounded::<Message>();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        loop {
            match read_frame(&mut input) {
                Ok(Frame::Message(message)) => {
                    let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                    if to_server.send(message).is_err() || exit {
                        break;
                    }
                }
                Ok(Frame::Bad(why)) => eprintln!("caveat lsp: skipped input: {why}"),
                Ok(Frame::End) | Err(_) => break,
            }
        }
    });
    std::thread::spawn(move || {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for message in outgoing {
            if write_message(&mut out, &message).is_err() {
                break;
            }
        }
    });
    (from_client, to_client)
}

#[cfg(test)]
mod tests {
    use super::{Frame, read_frame};

    fn frames(input: &str) -> Vec<String> {
        let mut reader = std::io::BufReader::new(input.as_bytes());
        let mut out = Vec::new();
        loop {
            match read_frame(&mut reader) {
                Ok(Frame::End) => break,
                Ok(Frame::Message(_)) => out.push("message".to_string()),
                Ok(Frame::Bad(why)) => out.push(format!("bad: {why}")),
                Err(e) => {
                    out.push(format!("error: {e}"));
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn bad_input_is_skipped_and_reading_goes_on() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = format!(
            "Content-Length: 5\r\n\r\n{{bad}}Garbage\r\n\r\nContent-Length: x\r\n\r\nContent-Length: {}\r\n\r\n{good}",
            good.len()
        );
        let got = frames(&input);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got[0].starts_with("bad: not a JSON-RPC message"), "{got:?}");
        assert!(got[1].starts_with("bad: malformed header"), "{got:?}");
        assert!(got[2].starts_with("bad: bad Content-Length"), "{got:?}");
        assert_eq!(got[3], "message");
    }
}
