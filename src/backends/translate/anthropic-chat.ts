// Anthropic's Messages API ↔ chat completions, both ways (SPEC §17):
// `messagesToChat` carries a Messages call from the Anthropic face to a
// chat-completions target, `chatToMessages` a chat call from the OpenAI face
// to an `anthropic` target. Each direction's request, answer and error
// mapping is in its own file, its stream in another; what they share
// (stop reasons, error types, ids) is in anthropic-wire.ts.
import { ChatToMessagesEvents } from './messages-to-chat-stream.js';
import { MessagesToChatChunks } from './chat-to-messages-stream.js';
import { messagesError, messagesRequest, messagesResponse } from './messages-to-chat.js';
import { chatError, chatRequest, chatResponse } from './chat-to-messages.js';
import type { Translation } from './translation.js';

export const messagesToChat: Translation = {
  from: 'messages',
  to: 'chat/completions',
  request: messagesRequest,
  streams: (body) => body.stream === true,
  response: messagesResponse,
  stream: (ctx) => new ChatToMessagesEvents(ctx),
  error: (status, body) => messagesError(status, body),
};

export const chatToMessages: Translation = {
  from: 'chat/completions',
  to: 'messages',
  request: chatRequest,
  streams: (body) => body.stream === true,
  response: chatResponse,
  stream: (ctx) => new MessagesToChatChunks(ctx),
  error: (status, body) => chatError(status, body),
};
