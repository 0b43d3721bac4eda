DROP TABLE activity_guests;
