DROP TABLE users; DROP TABLE outbox; DROP TABLE jobs; DROP TABLE composes;
