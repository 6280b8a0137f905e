-- name: CreateUser :one
INSERT INTO users (email, username, password_hash, roles)
VALUES (@email, sqlc.narg('username'), @password_hash, @roles)
RETURNING *;

-- name: GetUser :one
SELECT * FROM users WHERE id = $1;
